// tlogcheck verifies the service's ledger with the Go checksum database's own code
// (golang.org/x/mod/sumdb/note and sumdb/tlog, from Debian's golang-golang-x-mod-dev),
// an RFC 6962 implementation written independently of the service.
//
// Usage: tlogcheck INPUT.json
//
// INPUT holds the verifier key, a checkpoint kept earlier and the latest one (both as
// signed notes, exactly as GET /v1/ledger/checkpoint served them), every entry of the
// latest tree (base64 leaf bytes from GET /v1/ledger/entries), and the inclusion and
// consistency proofs the API served. It checks both signatures, rebuilds the tree from
// the entries and compares both roots, then checks every proof. It prints one line per
// failure and exits 1 if there was any; otherwise it prints a summary and exits 0.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type inclusion struct {
	LeafIndex int64    `json:"leaf_index"`
	TreeSize  int64    `json:"tree_size"`
	LeafHash  string   `json:"leaf_hash"`
	Proof     []string `json:"proof"`
}

type consistency struct {
	First  int64    `json:"first"`
	Second int64    `json:"second"`
	Proof  []string `json:"proof"`
}

type input struct {
	VerifierKey string        `json:"verifier_key"`
	Earlier     string        `json:"earlier_checkpoint"`
	Latest      string        `json:"latest_checkpoint"`
	Entries     []string      `json:"entries"`
	Inclusion   []inclusion   `json:"inclusion"`
	Consistency []consistency `json:"consistency"`
}

type tree struct {
	size int64
	root tlog.Hash
}

var failures int

func fail(format string, args ...any) {
	failures++
	fmt.Printf("FAIL "+format+"\n", args...)
}

// open checks a checkpoint's signature (note.Open: over the whole text, extension lines
// included) and reads its C2SP tlog-checkpoint body: origin line, decimal size, base64 root
// hash, then extension lines. sumdb's tlog.ParseTree would read only Go's own origin and
// exactly three lines, so the first three are read here. The service's one extension line
// is "time <Unix seconds>" (its SPEC §13), which every checkpoint it signs now carries.
func open(name, text string, verifier note.Verifier, origin string) (tree, bool) {
	signed, err := note.Open([]byte(text), note.VerifierList(verifier))
	if err != nil {
		fail("%s checkpoint: %v", name, err)
		return tree{}, false
	}
	lines := strings.Split(signed.Text, "\n")
	if len(lines) < 4 || lines[0] != origin {
		fail("%s checkpoint: not a checkpoint of %s", name, origin)
		return tree{}, false
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	root, err2 := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || err2 != nil || size < 0 || len(root) != tlog.HashSize {
		fail("%s checkpoint: malformed size or root", name)
		return tree{}, false
	}
	if !hasTimeLine(lines[3 : len(lines)-1]) {
		fail("%s checkpoint: no signed line 'time <Unix seconds>' after the root hash", name)
		return tree{}, false
	}
	var hash tlog.Hash
	copy(hash[:], root)
	return tree{size, hash}, true
}

// hasTimeLine reports whether the extension lines hold exactly one well-formed time line.
func hasTimeLine(extensions []string) bool {
	found := 0
	for _, line := range extensions {
		if !strings.HasPrefix(line, "time ") {
			continue
		}
		seconds, err := strconv.ParseInt(strings.TrimPrefix(line, "time "), 10, 64)
		if err != nil || seconds < 0 {
			return false
		}
		found++
	}
	return found == 1
}

func hash(text string) (tlog.Hash, bool) {
	var h tlog.Hash
	raw, err := base64.StdEncoding.DecodeString(text)
	if err != nil || len(raw) != tlog.HashSize {
		return h, false
	}
	copy(h[:], raw)
	return h, true
}

func hashes(texts []string) ([]tlog.Hash, bool) {
	out := make([]tlog.Hash, len(texts))
	for i, text := range texts {
		h, ok := hash(text)
		if !ok {
			return nil, false
		}
		out[i] = h
	}
	return out, true
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: tlogcheck INPUT.json")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var in input
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	verifier, err := note.NewVerifier(in.VerifierKey)
	if err != nil {
		fail("verifier key: %v", err)
		os.Exit(1)
	}
	origin := verifier.Name()
	earlier, ok1 := open("earlier", in.Earlier, verifier, origin)
	latest, ok2 := open("latest", in.Latest, verifier, origin)
	if !ok1 || !ok2 {
		os.Exit(1)
	}

	// Rebuild the tree from the leaf bytes alone, storing hashes as sumdb does.
	stored := []tlog.Hash{}
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, index := range indexes {
			if index < 0 || index >= int64(len(stored)) {
				return nil, fmt.Errorf("no stored hash %d", index)
			}
			out[i] = stored[index]
		}
		return out, nil
	})
	leaves := make([]tlog.Hash, len(in.Entries))
	for n, entry := range in.Entries {
		data, err := base64.StdEncoding.DecodeString(entry)
		if err != nil {
			fail("entry %d: not base64", n)
			os.Exit(1)
		}
		leaves[n] = tlog.RecordHash(data)
		more, err := tlog.StoredHashes(int64(n), data, reader)
		if err != nil {
			fail("entry %d: %v", n, err)
			os.Exit(1)
		}
		stored = append(stored, more...)
	}
	if int64(len(in.Entries)) != latest.size {
		fail("%d entries for a tree of size %d", len(in.Entries), latest.size)
		os.Exit(1)
	}
	for _, t := range []tree{earlier, latest} {
		root, err := tlog.TreeHash(t.size, reader)
		if err != nil || root != t.root {
			fail("the entries' root of size %d differs from the signed checkpoint's", t.size)
		}
	}

	for _, p := range in.Inclusion {
		leaf, ok := hash(p.LeafHash)
		proof, ok2 := hashes(p.Proof)
		if !ok || !ok2 {
			fail("inclusion of leaf %d: malformed hash", p.LeafIndex)
			continue
		}
		root := latest.root
		if p.TreeSize == earlier.size {
			root = earlier.root
		} else if p.TreeSize != latest.size {
			fail("inclusion of leaf %d: size %d is neither checkpoint's", p.LeafIndex, p.TreeSize)
			continue
		}
		if p.LeafIndex < 0 || p.LeafIndex >= int64(len(leaves)) || leaves[p.LeafIndex] != leaf {
			fail("inclusion of leaf %d: its hash is not that of entry %d", p.LeafIndex, p.LeafIndex)
		}
		if err := tlog.CheckRecord(tlog.RecordProof(proof), p.TreeSize, root, p.LeafIndex, leaf); err != nil {
			fail("inclusion of leaf %d in size %d: %v", p.LeafIndex, p.TreeSize, err)
		}
	}
	for _, p := range in.Consistency {
		proof, ok := hashes(p.Proof)
		if !ok || p.Second != latest.size || p.First < 0 || p.First > p.Second {
			fail("consistency %d..%d: malformed", p.First, p.Second)
			continue
		}
		first, err := tlog.TreeHash(p.First, reader)
		if err != nil {
			fail("consistency %d..%d: %v", p.First, p.Second, err)
			continue
		}
		if p.First == earlier.size && first != earlier.root {
			fail("consistency %d..%d: the earlier checkpoint's root is not the entries'", p.First, p.Second)
		}
		if err := tlog.CheckTree(tlog.TreeProof(proof), p.Second, latest.root, p.First, first); err != nil {
			fail("consistency %d..%d: %v", p.First, p.Second, err)
		}
	}
	if failures > 0 {
		os.Exit(1)
	}
	fmt.Printf("ok: %d entries, checkpoints of size %d and %d, %d inclusion and %d consistency proofs\n",
		len(in.Entries), earlier.size, latest.size, len(in.Inclusion), len(in.Consistency))
}
