"""RFC 9162 Merkle tree hashing, proofs built from stored subtree hashes, and proof verifiers.

Pure functions, no I/O: callers fetch the perfect-subtree hashes named by `required_nodes`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

from audit.errors import InvalidProof

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeKey = tuple[int, int]
"""(level, index): the perfect subtree of 2**level leaves starting at leaf index << level."""

Range = tuple[int, int]
"""[start, end) of leaf indexes, as a subtree appears in an RFC 9162 tree."""


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_nodes(start: int, end: int) -> list[NodeKey]:
    """The perfect subtrees, left to right, whose right fold is MTH(D[start:end]).

    Valid for the ranges that occur in an RFC 9162 tree (start is a multiple of a power of two
    at least end - start), which is every range this module asks for.
    """
    keys: list[NodeKey] = []
    while start < end:
        level = (end - start).bit_length() - 1
        while start & ((1 << level) - 1):
            level -= 1
        keys.append((level, start >> level))
        start += 1 << level
    return keys


def fold(hashes: Sequence[bytes]) -> bytes:
    """Combine perfect-subtree hashes (left to right, decreasing sizes) into one root."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def range_hash(rng: Range, nodes: Mapping[NodeKey, bytes]) -> bytes:
    return fold([nodes[key] for key in range_nodes(*rng)])


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The subtrees of PATH(index, D[0:size]) (RFC 9162 §2.1.3.1), leaf level first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} outside a tree of size {size}")
    out: list[Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo = lo + k
    out.reverse()
    return out


def consistency_ranges(old: int, new: int) -> list[Range]:
    """The subtrees of PROOF(old, D[0:new]) (RFC 9162 §2.1.4.1), in proof order."""
    if not 0 <= old <= new:
        raise ValueError(f"no consistency proof from size {old} to size {new}")
    if old in (0, new):
        return []
    out: list[Range] = []
    lo, hi, m, whole = 0, new, old, True
    # SUBPROOF(m, D[lo:hi], whole), unrolled: each step appends one sibling after the recursion.
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        out.append((lo, hi))
    out.reverse()
    return out


def required_nodes(ranges: Iterable[Range]) -> set[NodeKey]:
    keys: set[NodeKey] = set()
    for rng in ranges:
        keys.update(range_nodes(*rng))
    return keys


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH of a whole list of leaf hashes (level by level; a lone right node moves up)."""
    if not hashes:
        return EMPTY_ROOT
    level = list(hashes)
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise InvalidProof(f"{what} is {len(value)} bytes, not {HASH_SIZE}")


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2 steps 1-4 plus the sn == 0 check of step 5; returns r."""
    if index < 0 or size < 0:
        raise InvalidProof("negative leaf index or tree size")
    if index >= size:
        raise InvalidProof(f"leaf index {index} is not below the tree size {size}")
    _check_hash(leaf, "leaf hash")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        _check_hash(p, "proof hash")
        if sn == 0:
            raise InvalidProof("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise InvalidProof("inclusion proof is too short for the tree size")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes
) -> None:
    """Verify an inclusion proof (RFC 9162 §2.1.3.2); raise InvalidProof if it fails."""
    _check_hash(root, "root hash")
    if root_from_inclusion_proof(index, size, leaf, path) != root:
        raise InvalidProof(f"inclusion proof for leaf {index} does not lead to the root")


def verify_consistency(
    old: int, new: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    """Verify a consistency proof (RFC 9162 §2.1.4.2); raise InvalidProof if it fails.

    Trivial cases (which the RFC leaves to the caller): old == new needs an empty proof and equal
    roots; old == 0 needs an empty proof and the empty tree's root as old_root.
    """
    _check_hash(old_root, "first root hash")
    _check_hash(new_root, "second root hash")
    if old < 0 or new < 0 or old > new:
        raise InvalidProof(f"tree size {new} cannot follow tree size {old}")
    if old == new:
        if proof:
            raise InvalidProof("a proof between equal sizes must be empty")
        if old_root != new_root:
            raise InvalidProof(f"two different roots for the same tree size {old}")
        return
    if old == 0:
        if proof:
            raise InvalidProof("a proof from the empty tree must be empty")
        if old_root != EMPTY_ROOT:
            raise InvalidProof("the empty tree's root is not SHA-256 of the empty string")
        return
    # Step 1.
    if not proof:
        raise InvalidProof("empty consistency proof")
    path = list(proof)
    for p in path:
        _check_hash(p, "proof hash")
    # Step 2: an exact power of two is a complete subtree of the new tree; its root starts the path.
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    # Steps 3-4.
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 5.
    fr = sr = path[0]
    # Step 6.
    for c in path[1:]:
        if sn == 0:
            raise InvalidProof("consistency proof is longer than the new tree needs")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # Step 7.
    if sn != 0:
        raise InvalidProof("consistency proof does not cover the whole new tree")
    if fr != old_root:
        raise InvalidProof(f"consistency proof does not reproduce the root of size {old}")
    if sr != new_root:
        raise InvalidProof(f"consistency proof does not reproduce the root of size {new}")


def frontier_after(
    frontier: list[tuple[int, bytes]], leaves: Iterable[bytes]
) -> tuple[list[tuple[int, bytes]], list[list[bytes]]]:
    """Append leaf hashes to a tree's right edge.

    `frontier` is the tree's perfect subtrees [(level, hash)], left to right (as returned for
    `range_nodes(0, size)`). Returns the new frontier and, per leaf, the hashes of the subtrees
    completed by it (levels 1, 2, …: they all end at that leaf).
    """
    stack = list(frontier)
    completed: list[list[bytes]] = []
    for leaf in leaves:
        stack.append((0, leaf))
        done: list[bytes] = []
        while len(stack) >= 2 and stack[-1][0] == stack[-2][0]:
            level, right = stack.pop()
            _, left = stack.pop()
            parent = node_hash(left, right)
            stack.append((level + 1, parent))
            done.append(parent)
        completed.append(done)
    return stack, completed


def perfect_levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """All perfect-subtree hashes of a list of leaf hashes: levels[l][j] is node (l, j)."""
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
    return levels


def root_from_levels(levels: Sequence[Sequence[bytes]], size: int) -> bytes:
    """MTH(D[0:size]) from `perfect_levels` of at least `size` leaves."""
    return fold([levels[level][idx] for level, idx in range_nodes(0, size)])
