"""Merkle hashing and proofs: the RFC 6962 golden vectors, and every small tree against the RFC."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.ledger.merkle import (
    EMPTY_ROOT,
    InvalidProof,
    consistency_proof,
    inclusion_proof,
    leaf_and_inclusion_proof,
    leaf_hash,
    node_hash,
    root_hash,
    stored_hash_count,
    stored_hash_index,
    stored_hashes,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).parent / "data" / "rfc6962"
INCLUSION = sorted((VECTORS / "inclusion").rglob("*.json"))
CONSISTENCY = sorted((VECTORS / "consistency").rglob("*.json"))

# The reference tree of the vectors' README, and its root at each size.
REFERENCE_LEAVES = [
    bytes.fromhex(entry)
    for entry in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
REFERENCE_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
SMALL = 40
LARGE = 1500


class Store:
    """Stored hashes in a list, as a table would hold them, counting the reads."""

    def __init__(self, leaf_hashes: Sequence[bytes] = ()) -> None:
        """A store with these leaves appended in order."""
        self.hashes: list[bytes] = []
        self.reads: list[list[int]] = []
        self.leaves: list[bytes] = []
        for leaf in leaf_hashes:
            self.append(leaf)

    def read(self, indexes: Sequence[int]) -> list[bytes]:
        """The hash reader: one call is one batched read."""
        self.reads.append(list(indexes))
        return [self.hashes[index] for index in indexes]

    def append(self, leaf: bytes) -> None:
        """Append a leaf the way the ledger will: write what stored_hashes says."""
        n = len(self.leaves)
        new = stored_hashes(n, leaf, self.read)
        assert len(self.hashes) == stored_hash_index(0, n)
        self.hashes.extend(new)
        self.leaves.append(leaf)


def leaves(count: int) -> list[bytes]:
    """Distinct leaf hashes of the entries 0, 1, 2, …"""
    return [leaf_hash(str(number).encode()) for number in range(count)]


SMALL_STORE = Store(leaves(SMALL))
LARGE_STORE = Store(leaves(LARGE))


def mth(hashes: Sequence[bytes]) -> bytes:
    """RFC 9162 MTH, straight from its recursive definition."""
    if not hashes:
        return EMPTY_ROOT
    if len(hashes) == 1:
        return hashes[0]
    k = 1 << (len(hashes) - 1).bit_length() - 1
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


def path(m: int, hashes: Sequence[bytes]) -> list[bytes]:
    """RFC 9162 PATH(m, D[n]), straight from its definition."""
    if len(hashes) == 1:
        return []
    k = 1 << (len(hashes) - 1).bit_length() - 1
    if m < k:
        return [*path(m, hashes[:k]), mth(hashes[k:])]
    return [*path(m - k, hashes[k:]), mth(hashes[:k])]


def subproof(m: int, hashes: Sequence[bytes], whole: bool) -> list[bytes]:
    """RFC 9162 SUBPROOF(m, D[n], b), straight from its definition."""
    if m == len(hashes):
        return [] if whole else [mth(hashes)]
    k = 1 << (len(hashes) - 1).bit_length() - 1
    if m <= k:
        return [*subproof(m, hashes[:k], whole), mth(hashes[k:])]
    return [*subproof(m - k, hashes[k:], False), mth(hashes[:k])]


def b64(value: str) -> bytes:
    """A vector's base64 field."""
    return base64.b64decode(value)


def load(file: Path) -> dict[str, Any]:
    """One vector file."""
    result: dict[str, Any] = json.loads(file.read_text())
    return result


def flip(value: bytes, at: int = 0) -> bytes:
    """The bytes with one bit flipped."""
    return value[:at] + bytes([value[at] ^ 1]) + value[at + 1 :]


def test_every_vector_folder_has_files() -> None:
    """A missing data folder must fail, not parametrize nothing."""
    assert len(INCLUSION) > 80
    assert len(CONSISTENCY) > 80


@pytest.mark.parametrize("file", INCLUSION, ids=lambda file: str(file.relative_to(VECTORS)))
def test_inclusion_vector(file: Path) -> None:
    """Happy paths verify; every mutated vector is refused with InvalidProof."""
    vector = load(file)
    arguments = (
        b64(vector["leafHash"]),
        vector["leafIdx"],
        vector["treeSize"],
        [b64(item) for item in vector["proof"] or []],
        b64(vector["root"]),
    )
    if vector["wantErr"]:
        with pytest.raises(InvalidProof):
            verify_inclusion(*arguments)
    else:
        verify_inclusion(*arguments)


@pytest.mark.parametrize("file", CONSISTENCY, ids=lambda file: str(file.relative_to(VECTORS)))
def test_consistency_vector(file: Path) -> None:
    """Happy paths verify; every mutated vector, and any proof from size 0, is refused."""
    vector = load(file)
    arguments = (
        vector["size1"],
        vector["size2"],
        [b64(item) for item in vector["proof"] or []],
        b64(vector["root1"]),
        b64(vector["root2"]),
    )
    if vector["wantErr"]:
        with pytest.raises(InvalidProof):
            verify_consistency(*arguments)
    else:
        verify_consistency(*arguments)


@pytest.mark.parametrize("size", range(len(REFERENCE_ROOTS)))
def test_root_of_the_reference_tree_by_size(size: int) -> None:
    """The README's table: from the leaves directly and from stored hashes alike."""
    hashes = [leaf_hash(entry) for entry in REFERENCE_LEAVES[:size]]
    assert root_hash(hashes).hex() == REFERENCE_ROOTS[size]
    assert tree_hash(size, Store(hashes).read).hex() == REFERENCE_ROOTS[size]


def test_empty_root_is_the_hash_of_nothing() -> None:
    """RFC 9162 defines the empty tree's root as SHA-256 of the empty string."""
    assert EMPTY_ROOT.hex() == REFERENCE_ROOTS[0]
    assert root_hash([]) == EMPTY_ROOT


@pytest.mark.parametrize("file", sorted(VECTORS.glob("*/[0-9]/happy-path.json")))
def test_generated_proof_is_the_vector_proof(file: Path) -> None:
    """The numbered cases come from the reference tree: the generator reproduces them."""
    vector = load(file)
    store = Store([leaf_hash(entry) for entry in REFERENCE_LEAVES])
    if "leafIdx" in vector:
        proof = inclusion_proof(vector["leafIdx"], vector["treeSize"], store.read)
    else:
        proof = consistency_proof(vector["size1"], vector["size2"], store.read)
    assert proof == [b64(item) for item in vector["proof"] or []]


def test_stored_hash_layout_is_tlogs() -> None:
    """Leaf hashes and the subtree hashes they complete interleave as in Go's tlog."""
    layout = [(0, 0), (0, 1), (1, 0), (0, 2), (0, 3), (1, 1), (2, 0), (0, 4), (0, 5), (1, 2)]
    assert [stored_hash_index(level, n) for level, n in layout] == list(range(len(layout)))


def test_store_grows_by_stored_hash_count_with_one_read_per_append() -> None:
    """Appending leaf n writes up to 1 + log2(n) hashes after one read of their left halves."""
    store = Store()
    for n, leaf in enumerate(leaves(SMALL)):
        store.reads.clear()
        store.append(leaf)
        assert len(store.hashes) == stored_hash_count(n + 1)
        assert len(store.reads) <= 1
        assert all(len(read) <= math.log2(n + 1) for read in store.reads)


def test_every_root_from_stored_hashes_is_the_rfc_root() -> None:
    """tree_hash over the store equals MTH for every size."""
    for size in range(SMALL + 1):
        expected = mth(SMALL_STORE.leaves[:size])
        assert tree_hash(size, SMALL_STORE.read) == expected
        assert root_hash(SMALL_STORE.leaves[:size]) == expected


def test_every_inclusion_proof_is_the_rfc_path_and_verifies() -> None:
    """For every size up to SMALL and every leaf: RFC PATH exactly, and it verifies."""
    for size in range(1, SMALL + 1):
        root = mth(SMALL_STORE.leaves[:size])
        for index in range(size):
            proof = inclusion_proof(index, size, SMALL_STORE.read)
            assert proof == path(index, SMALL_STORE.leaves[:size])
            verify_inclusion(SMALL_STORE.leaves[index], index, size, proof, root)


def test_the_leaf_and_its_proof_come_from_one_read() -> None:
    """leaf_and_inclusion_proof: the stored leaf hash and the same PATH, in a single read."""
    for size in range(1, SMALL + 1):
        for index in range(size):
            SMALL_STORE.reads.clear()
            leaf, proof = leaf_and_inclusion_proof(index, size, SMALL_STORE.read)
            assert len(SMALL_STORE.reads) == 1
            assert leaf == SMALL_STORE.leaves[index]
            assert proof == path(index, SMALL_STORE.leaves[:size])


def test_every_consistency_proof_is_the_rfc_proof_and_verifies() -> None:
    """For every pair of sizes up to SMALL: RFC PROOF exactly, and it verifies."""
    for size2 in range(1, SMALL + 1):
        root2 = mth(SMALL_STORE.leaves[:size2])
        for size1 in range(1, size2 + 1):
            proof = consistency_proof(size1, size2, SMALL_STORE.read)
            assert proof == subproof(size1, SMALL_STORE.leaves[:size2], True)
            verify_consistency(size1, size2, proof, mth(SMALL_STORE.leaves[:size1]), root2)


def inclusion_tamperings(
    leaf: bytes, index: int, proof: list[bytes], root: bytes
) -> list[tuple[bytes, int, list[bytes], bytes]]:
    """Every way of spoiling one part of an inclusion proof."""
    spoiled = [(flip(leaf), index, proof, root), (leaf, index, proof, flip(root, 31))]
    spoiled += [
        (leaf, index, [*proof[:at], flip(proof[at]), *proof[at + 1 :]], root)
        for at in range(len(proof))
    ]
    spoiled += [(leaf, index, [*proof, proof[-1] if proof else leaf], root)]
    if proof:
        spoiled += [(leaf, index, proof[:-1], root), (leaf, index, proof[1:], root)]
    return spoiled


def test_tampered_inclusion_proofs_fail() -> None:
    """A changed leaf, root or proof element, or a proof too long or short, is refused."""
    for size in range(1, SMALL + 1):
        root = mth(SMALL_STORE.leaves[:size])
        for index in range(size):
            proof = inclusion_proof(index, size, SMALL_STORE.read)
            for leaf, at, spoiled, spoiled_root in inclusion_tamperings(
                SMALL_STORE.leaves[index], index, proof, root
            ):
                with pytest.raises(InvalidProof):
                    verify_inclusion(leaf, at, size, spoiled, spoiled_root)


def test_tampered_consistency_proofs_fail() -> None:
    """A changed root or proof element, or a proof too long or short, is refused."""
    for size2 in range(2, SMALL + 1):
        root2 = mth(SMALL_STORE.leaves[:size2])
        for size1 in range(1, size2):
            root1 = mth(SMALL_STORE.leaves[:size1])
            proof = consistency_proof(size1, size2, SMALL_STORE.read)
            spoiled = [(proof, flip(root1), root2), (proof, root1, flip(root2))]
            spoiled += [
                ([*proof[:at], flip(proof[at]), *proof[at + 1 :]], root1, root2)
                for at in range(len(proof))
            ]
            spoiled += [
                (proof[:-1], root1, root2),
                (proof[1:], root1, root2),
                ([*proof, root2], root1, root2),
            ]
            for spoiled_proof, spoiled_root1, spoiled_root2 in spoiled:
                with pytest.raises(InvalidProof):
                    verify_consistency(size1, size2, spoiled_proof, spoiled_root1, spoiled_root2)


def test_generation_refuses_impossible_requests() -> None:
    """No proof for a leaf outside the tree, from an empty tree, or to a smaller tree."""
    for arguments in [(0, 0), (5, 5), (-1, 5)]:
        with pytest.raises(ValueError, match="not in a tree"):
            inclusion_proof(*arguments, SMALL_STORE.read)
    for arguments in [(0, 5), (6, 5), (-1, 5)]:
        with pytest.raises(ValueError, match="no consistency proof"):
            consistency_proof(*arguments, SMALL_STORE.read)
    with pytest.raises(ValueError, match="negative"):
        tree_hash(-1, SMALL_STORE.read)


def test_a_short_read_is_an_error() -> None:
    """A reader that returns fewer hashes than asked for is a storage fault, not a proof."""
    with pytest.raises(ValueError, match="did not return"):
        tree_hash(7, lambda indexes: [EMPTY_ROOT] * (len(indexes) - 1))


@given(
    st.integers(1, LARGE).flatmap(lambda size: st.tuples(st.just(size), st.integers(0, size - 1)))
)
def test_inclusion_in_larger_trees(case: tuple[int, int]) -> None:
    """Random leaves of trees up to LARGE: one read, and the proof verifies."""
    size, index = case
    LARGE_STORE.reads.clear()
    proof = inclusion_proof(index, size, LARGE_STORE.read)
    assert len(LARGE_STORE.reads) <= 1
    verify_inclusion(LARGE_STORE.leaves[index], index, size, proof, mth(LARGE_STORE.leaves[:size]))


@given(st.integers(1, LARGE).flatmap(lambda size: st.tuples(st.integers(1, size), st.just(size))))
def test_consistency_in_larger_trees(case: tuple[int, int]) -> None:
    """Random pairs of sizes up to LARGE: one read, and the proof verifies."""
    size1, size2 = case
    LARGE_STORE.reads.clear()
    proof = consistency_proof(size1, size2, LARGE_STORE.read)
    assert len(LARGE_STORE.reads) <= 1
    root1, root2 = (tree_hash(size, LARGE_STORE.read) for size in (size1, size2))
    verify_consistency(size1, size2, proof, root1, root2)


@given(
    st.integers(1, 2**62).flatmap(lambda size: st.tuples(st.integers(0, size - 1), st.just(size)))
)
def test_reads_stay_logarithmic_in_huge_trees(case: tuple[int, int]) -> None:
    """Roots and proofs of trees of up to 2**62 leaves read O(log n) stored hashes at once."""
    index, size = case
    reads: list[Sequence[int]] = []

    def read(indexes: Sequence[int]) -> list[bytes]:
        reads.append(indexes)
        return [EMPTY_ROOT] * len(indexes)

    tree_hash(size, read)
    inclusion_proof(index, size, read)
    consistency_proof(index + 1, size, read)
    assert len(reads) <= 3
    assert all(len(indexes) <= 2 * math.log2(size) + 2 for indexes in reads)
