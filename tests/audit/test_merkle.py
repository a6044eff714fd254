"""RFC 9162 / RFC 6962 hashing and proofs: the Certificate Transparency test vectors (as used by
transparency-dev/merkle) and forged proofs that must be refused."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit import merkle
from audit.errors import InvalidProof

LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
ROOTS = [
    bytes.fromhex(h)
    for h in [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
]


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# (leaf index, tree size, proof)
INCLUSION = [
    (0, 8, [
        h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ]),
    (5, 8, [
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    ]),
    (2, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (1, 5, [
        h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
    ]),
    (0, 1, []),
]  # fmt: skip

# (old size, new size, proof)
CONSISTENCY = [
    (1, 1, []),
    (1, 8, [
        h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
    ]),
    (6, 8, [
        h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    ]),
    (2, 5, [
        h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
        h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
    ]),
    (6, 7, [
        h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
        h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
        h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    ]),
]  # fmt: skip

SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")


def leaf_hashes(n: int) -> list[bytes]:
    return [merkle.leaf_hash(leaf) for leaf in LEAVES[:n]]


def nodes_for(hashes: list[bytes]) -> dict[merkle.NodeKey, bytes]:
    levels = merkle.perfect_levels(hashes)
    return {(lvl, i): v for lvl, row in enumerate(levels) for i, v in enumerate(row)}


def gen_inclusion(index: int, size: int, hashes: list[bytes]) -> list[bytes]:
    nodes = nodes_for(hashes[:size])
    return [merkle.range_hash(r, nodes) for r in merkle.inclusion_ranges(index, size)]


def gen_consistency(old: int, new: int, hashes: list[bytes]) -> list[bytes]:
    nodes = nodes_for(hashes[:new])
    return [merkle.range_hash(r, nodes) for r in merkle.consistency_ranges(old, new)]


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert merkle.root_from_leaf_hashes([]) == hashlib.sha256(b"").digest()
    assert merkle.EMPTY_ROOT.hex().startswith("e3b0c442")


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_vectors(size: int) -> None:
    hashes = leaf_hashes(size)
    assert merkle.root_from_leaf_hashes(hashes) == ROOTS[size - 1]
    levels = merkle.perfect_levels(leaf_hashes(8))
    assert merkle.root_from_levels(levels, size) == ROOTS[size - 1]
    frontier, _ = merkle.frontier_after([], hashes)
    assert merkle.fold([v for _, v in frontier]) == ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_vectors_generate_and_verify(index: int, size: int, proof: list[bytes]) -> None:
    hashes = leaf_hashes(8)
    assert gen_inclusion(index, size, hashes) == proof
    merkle.verify_inclusion(index, size, hashes[index], proof, ROOTS[size - 1])


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_consistency_vectors_generate_and_verify(old: int, new: int, proof: list[bytes]) -> None:
    assert gen_consistency(old, new, leaf_hashes(8)) == proof
    merkle.verify_consistency(old, new, proof, ROOTS[old - 1], ROOTS[new - 1])


def forged_inclusions(
    index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes
) -> list[tuple[str, int, int, bytes, list[bytes], bytes]]:
    probes = [
        ("index - 1", index - 1, size, leaf, proof, root),
        ("index + 1", index + 1, size, leaf, proof, root),
        ("index ^ 2", index ^ 2, size, leaf, proof, root),
        ("size * 2", index, size * 2, leaf, proof, root),
        ("size / 2", index, size // 2, leaf, proof, root),
        ("wrong leaf", index, size, SOME_HASH, proof, root),
        ("empty root", index, size, leaf, proof, merkle.EMPTY_ROOT),
        ("random root", index, size, leaf, proof, SOME_HASH),
        ("extended: trailing garbage", index, size, leaf, [*proof, b""], root),
        ("extended: trailing root", index, size, leaf, [*proof, root], root),
        ("extended: preceding root", index, size, leaf, [root, *proof], root),
    ]
    if proof:
        probes.append(("truncated", index, size, leaf, proof[:-1], root))
        probes.append(("first element dropped", index, size, leaf, proof[1:], root))
    if len(proof) > 1:
        probes.append(
            ("inserted element", index, size, leaf, [proof[0], SOME_HASH, *proof[1:]], root)
        )
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([proof[i][0] ^ 8]) + proof[i][1:]
        probes.append((f"bit flip in proof[{i}]", index, size, leaf, flipped, root))
    return probes


@pytest.mark.parametrize(("index", "size", "proof"), [v for v in INCLUSION if v[1] > 1])
def test_forged_inclusion_proofs_are_refused(index: int, size: int, proof: list[bytes]) -> None:
    leaf = leaf_hashes(8)[index]
    for desc, i, s, lf, p, r in forged_inclusions(index, size, leaf, proof, ROOTS[size - 1]):
        with pytest.raises(InvalidProof):
            merkle.verify_inclusion(i, s, lf, p, r)
            pytest.fail(f"forged inclusion proof accepted: {desc}")


def test_inclusion_proof_replayed_for_another_entry_is_refused() -> None:
    hashes = leaf_hashes(8)
    proof = gen_inclusion(5, 8, hashes)
    for other in range(8):
        if other == 5:
            continue
        with pytest.raises(InvalidProof):
            merkle.verify_inclusion(5, 8, hashes[other], proof, ROOTS[7])
        with pytest.raises(InvalidProof):
            merkle.verify_inclusion(other, 8, hashes[other], proof, ROOTS[7])


@pytest.mark.parametrize(("old", "new", "proof"), [v for v in CONSISTENCY if v[2]])
def test_forged_consistency_proofs_are_refused(old: int, new: int, proof: list[bytes]) -> None:
    r1, r2 = ROOTS[old - 1], ROOTS[new - 1]
    probes = [
        ("old - 1", old - 1, new, proof, r1, r2),
        ("old + 1", old + 1, new, proof, r1, r2),
        ("old ^ 2", old ^ 2, new, proof, r1, r2),
        ("new * 2 (second size not consumed)", old, new * 2, proof, r1, r2),
        ("new / 2", old, new // 2, proof, r1, r2),
        ("wrong first root", old, new, proof, SOME_HASH, r2),
        ("wrong second root", old, new, proof, r1, SOME_HASH),
        ("swapped roots", old, new, proof, r2, r1),
        ("empty proof", old, new, [], r1, r2),
        ("truncated", old, new, proof[:-1], r1, r2),
        ("extended with garbage", old, new, [*proof, b""], r1, r2),
        ("extended with root", old, new, [*proof, r2], r1, r2),
        ("extended with a hash", old, new, [*proof, SOME_HASH], r1, r2),
        ("preceded by root1", old, new, [r1, *proof], r1, r2),
        ("preceded by proof[0]", old, new, [proof[0], *proof], r1, r2),
    ]
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([proof[i][0] ^ 16]) + proof[i][1:]
        probes.append((f"bit flip in proof[{i}]", old, new, flipped, r1, r2))
    for desc, o, n, p, a, b in probes:
        with pytest.raises(InvalidProof):
            merkle.verify_consistency(o, n, p, a, b)
            pytest.fail(f"forged consistency proof accepted: {desc}")


def test_trivial_consistency_cases() -> None:
    merkle.verify_consistency(0, 5, [], merkle.EMPTY_ROOT, ROOTS[4])
    merkle.verify_consistency(3, 3, [], ROOTS[2], ROOTS[2])
    with pytest.raises(InvalidProof):
        merkle.verify_consistency(3, 3, [], ROOTS[2], ROOTS[3])
    with pytest.raises(InvalidProof):
        merkle.verify_consistency(3, 3, [ROOTS[2]], ROOTS[2], ROOTS[2])
    with pytest.raises(InvalidProof):
        merkle.verify_consistency(0, 5, [ROOTS[4]], merkle.EMPTY_ROOT, ROOTS[4])
    with pytest.raises(InvalidProof):
        merkle.verify_consistency(4, 3, [], ROOTS[3], ROOTS[2])
    with pytest.raises(InvalidProof):
        merkle.verify_inclusion(0, 0, SOME_HASH, [], merkle.EMPTY_ROOT)


@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_generated_inclusion_proofs_verify_and_resist_replay(case: tuple[int, int]) -> None:
    size, index = case
    hashes = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    root = merkle.root_from_leaf_hashes(hashes)
    proof = gen_inclusion(index, size, hashes)
    merkle.verify_inclusion(index, size, hashes[index], proof, root)
    assert len(proof) <= size.bit_length()
    if size > 1:
        other = (index + 1) % size
        with pytest.raises(InvalidProof):
            merkle.verify_inclusion(other, size, hashes[other], proof, root)
        with pytest.raises(InvalidProof):
            merkle.verify_inclusion(index, size, hashes[index], proof[:-1], root)
        with pytest.raises(InvalidProof):
            merkle.verify_inclusion(index, size, hashes[index], [*proof, root], root)


@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n))))
def test_generated_consistency_proofs_verify(case: tuple[int, int]) -> None:
    old, new = case
    hashes = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(new)]
    r1 = merkle.root_from_leaf_hashes(hashes[:old])
    r2 = merkle.root_from_leaf_hashes(hashes)
    proof = gen_consistency(old, new, hashes)
    merkle.verify_consistency(old, new, proof, r1, r2)
    if old < new:
        with pytest.raises(InvalidProof):
            merkle.verify_consistency(old, new * 2, proof, r1, r2)
        with pytest.raises(InvalidProof):
            merkle.verify_consistency(old, new, proof[:-1], r1, r2)
        forked = [*hashes[: new - 1], merkle.leaf_hash(b"fork")]
        with pytest.raises(InvalidProof):
            merkle.verify_consistency(old, new, proof, r1, merkle.root_from_leaf_hashes(forked))
