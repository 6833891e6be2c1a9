"""RFC 6962 / RFC 9162 Merkle tree hashes, proofs and their verification; pure, no storage.

Hashing (RFC 9162 §2.1.1): a leaf is SHA-256(0x00 ‖ entry), an interior node is
SHA-256(0x01 ‖ left ‖ right), and the empty tree's root is SHA-256 of nothing. The tree over
n leaves splits at k, the largest power of two below n: its root is the node of the tree
over the first k leaves and the tree over the rest.

Storage layout: a log keeps the hash of every complete subtree, which is everything a root
or a proof needs. The hashes are addressed by the dense "stored hash index" of Go's
golang.org/x/mod/sumdb/tlog (Crosby and Wallach, "Efficient Data Structures for
Tamper-Evident Logging", §3.3): appending leaf n writes ``stored_hashes(n, …)`` at indexes
``stored_hash_index(0, n)`` onwards, never rewriting an earlier one. A root or a proof then
needs one batched read (a ``HashReader`` call) of O(log n) stored hashes. Unlike tlog, the
root of the empty tree here is SHA-256 of nothing, as RFC 9162 defines it.

Proofs are lists of 32-byte hashes, lowest level first, exactly as RFC 9162 §2.1.3.1
(inclusion) and §2.1.4.1 (consistency) build them, so any RFC verifier accepts them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

# Reads the hashes at the given stored hash indexes and returns them in the same order.
HashReader = Callable[[Sequence[int]], Sequence[bytes]]


class InvalidProof(ValueError):
    """A proof, or a value it is checked against, does not show what it claims."""


def leaf_hash(entry: bytes) -> bytes:
    """The hash of one log entry: SHA-256(0x00 ‖ entry)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_hash(leaf_hashes: Iterable[bytes]) -> bytes:
    """The root of the tree over these leaf hashes, in one pass and O(log n) memory."""
    # The complete subtrees seen so far, largest (leftmost) first; two of equal height
    # merge as soon as the second is complete, as binary addition carries.
    stack: list[tuple[int, bytes]] = []
    for value in leaf_hashes:
        height, hash_ = 0, value
        while stack and stack[-1][0] == height:
            hash_ = node_hash(stack.pop()[1], hash_)
            height += 1
        stack.append((height, hash_))
    if not stack:
        return EMPTY_ROOT
    return _fold([hash_ for _height, hash_ in stack])


def stored_hash_index(level: int, n: int) -> int:
    """Where the hash of the n-th complete subtree of 2**level leaves is stored."""
    # Leaf m stores its own hash and then one hash for each subtree it completes (one per
    # trailing one bit of m), so the leaves before m have stored m + m//2 + m//4 + … hashes.
    # A subtree's hash comes `level` places after the hash of the last leaf under it.
    last_leaf = ((n + 1) << level) - 1
    return sum(last_leaf >> shift for shift in range(last_leaf.bit_length())) + level


def stored_hash_count(tree_size: int) -> int:
    """How many hashes a tree of ``tree_size`` leaves has stored: where the next leaf goes."""
    return stored_hash_index(0, tree_size)


def stored_hashes(n: int, leaf: bytes, read_hashes: HashReader) -> list[bytes]:
    """The hashes to store from ``stored_hash_index(0, n)`` on when leaf ``n`` is appended."""
    # Each trailing one bit of n completes a subtree whose left half is already stored.
    completed = (~n & (n + 1)).bit_length() - 1
    levels = range(completed - 1, -1, -1)  # highest first: increasing index order
    lefts = _read(read_hashes, [stored_hash_index(level, (n >> level) - 1) for level in levels])
    hashes = [leaf]
    for left in reversed(lefts):
        hashes.append(node_hash(left, hashes[-1]))
    return hashes


def tree_hash(tree_size: int, read_hashes: HashReader) -> bytes:
    """The root of the first ``tree_size`` leaves, from stored hashes."""
    if tree_size < 0:
        raise ValueError(f"tree size {tree_size} is negative")
    if tree_size == 0:
        return EMPTY_ROOT
    return _range_hashes([(0, tree_size)], read_hashes)[0]


def inclusion_proof(index: int, tree_size: int, read_hashes: HashReader) -> list[bytes]:
    """The proof that leaf ``index`` is in the tree of ``tree_size`` leaves (RFC 9162 PATH)."""
    return _range_hashes(_inclusion_ranges(index, tree_size), read_hashes)


def leaf_and_inclusion_proof(
    index: int, tree_size: int, read_hashes: HashReader
) -> tuple[bytes, list[bytes]]:
    """Leaf ``index``'s hash and its inclusion proof, from one read of the stored hashes."""
    *proof, leaf = _range_hashes(
        [*_inclusion_ranges(index, tree_size), (index, index + 1)], read_hashes
    )
    return leaf, proof


def _inclusion_ranges(index: int, tree_size: int) -> list[tuple[int, int]]:
    """The ranges of leaves whose hashes make up leaf ``index``'s proof, leaf side first."""
    if not 0 <= index < tree_size:
        raise ValueError(f"leaf {index} is not in a tree of {tree_size} leaves")
    # Walk from the root down to the leaf, keeping the range not taken at each split.
    ranges = []
    lo, hi = 0, tree_size
    while hi - lo > 1:
        middle = lo + _split(hi - lo)
        if index < middle:
            ranges.append((middle, hi))
            hi = middle
        else:
            ranges.append((lo, middle))
            lo = middle
    ranges.reverse()
    return ranges


def consistency_proof(size1: int, size2: int, read_hashes: HashReader) -> list[bytes]:
    """The proof that the tree of ``size1`` leaves is a prefix of that of ``size2`` (RFC 9162)."""
    if not 0 < size1 <= size2:
        raise ValueError(f"no consistency proof from {size1} to {size2} leaves")
    # RFC 9162 SUBPROOF, walking down from the root until a subtree ends where the old
    # tree ends; that subtree's hash is needed unless it is the old tree itself (lo == 0).
    ranges = []
    lo, hi = 0, size2
    while size1 != hi:
        middle = lo + _split(hi - lo)
        if size1 <= middle:
            ranges.append((middle, hi))
            hi = middle
        else:
            ranges.append((lo, middle))
            lo = middle
    if lo != 0:
        ranges.append((lo, hi))
    ranges.reverse()
    return _range_hashes(ranges, read_hashes)


def verify_inclusion(
    leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check an inclusion proof as RFC 9162 §2.1.3.2 says; raise InvalidProof unless it holds."""
    if not 0 <= index < tree_size:
        raise InvalidProof(f"leaf index {index} is outside a tree of size {tree_size}")
    _check_hash_sizes([leaf, *proof])
    fn, sn, hash_ = index, tree_size - 1, leaf
    for sibling in proof:
        if sn == 0:
            raise InvalidProof("the proof is longer than the path from the leaf to the root")
        if fn & 1 or fn == sn:
            hash_ = node_hash(sibling, hash_)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            hash_ = node_hash(hash_, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise InvalidProof("the proof is shorter than the path from the leaf to the root")
    if hash_ != root:
        raise InvalidProof("the proof does not lead to the given root")


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check a consistency proof as RFC 9162 §2.1.4.2 says; raise InvalidProof unless it holds."""
    if not 0 <= size1 <= size2:
        raise InvalidProof(f"no consistency from a tree of {size1} leaves to one of {size2}")
    if size1 == 0:
        # Every tree extends the empty one: such a proof would prove nothing.
        raise InvalidProof("a consistency proof from the empty tree proves nothing")
    if size1 == size2:
        if proof:
            raise InvalidProof("trees of the same size need an empty consistency proof")
        if root1 != root2:
            raise InvalidProof("the trees have the same size but different roots")
        return
    if not proof:
        raise InvalidProof("the consistency proof is empty")
    _check_hash_sizes(proof)
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        # The old tree is a complete subtree of the new one: its root starts the path.
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    first = second = path[0]
    for sibling in path[1:]:
        if sn == 0:
            raise InvalidProof("the consistency proof is too long")
        if fn & 1 or fn == sn:
            first = node_hash(sibling, first)
            second = node_hash(sibling, second)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            second = node_hash(second, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise InvalidProof("the consistency proof is too short")
    if first != root1:
        raise InvalidProof("the proof does not lead to the first root")
    if second != root2:
        raise InvalidProof("the proof does not lead to the second root")


def _split(size: int) -> int:
    """The largest power of two below ``size`` (at least 2): where RFC 6962 splits a tree."""
    return 1 << ((size - 1).bit_length() - 1)


def _fold(hashes: Sequence[bytes]) -> bytes:
    """The root over complete subtrees of decreasing size, left to right."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def _subtree_indexes(lo: int, hi: int) -> list[int]:
    """The stored indexes of the complete subtrees that make up leaves [lo, hi), largest first."""
    indexes = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        # Every range a tree or proof asks for starts on a multiple of its largest subtree.
        assert lo % (1 << level) == 0, f"range [{lo}, {hi}) is not aligned"
        indexes.append(stored_hash_index(level, lo >> level))
        lo += 1 << level
    return indexes


def _range_hashes(ranges: Sequence[tuple[int, int]], read_hashes: HashReader) -> list[bytes]:
    """The hash of each range of leaves, from one read of the stored hashes they need."""
    plans = [_subtree_indexes(lo, hi) for lo, hi in ranges]
    stored = iter(_read(read_hashes, [index for plan in plans for index in plan]))
    return [_fold([next(stored) for _index in plan]) for plan in plans]


def _read(read_hashes: HashReader, indexes: list[int]) -> Sequence[bytes]:
    """The stored hashes at ``indexes``, checked for count and size; no call when none."""
    if not indexes:
        return []
    hashes = read_hashes(indexes)
    if len(hashes) != len(indexes) or any(len(hash_) != HASH_SIZE for hash_ in hashes):
        raise ValueError(f"the hash reader did not return {len(indexes)} hashes of 32 bytes")
    return hashes


def _check_hash_sizes(hashes: Iterable[bytes]) -> None:
    """Refuse a leaf hash or proof element that is not a SHA-256 hash."""
    for hash_ in hashes:
        if len(hash_) != HASH_SIZE:
            raise InvalidProof(f"a hash of {len(hash_)} bytes where 32 are needed")
