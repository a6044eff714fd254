"""`helhet demo`: a synthetic municipality run end to end on the embedded defaults."""
