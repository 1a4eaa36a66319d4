package agent

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"io/fs"
	"os"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/encoding/protowire"
)

// ErrStateDamaged is wrapped by the errors [OpenStore] returns for a state
// file that exists but cannot be trusted: empty, not a bbolt file, cut
// short, or with pages that do not form a consistent tree. Nothing in such
// a file is used; the remedy is `tollgate-agent --reset-state` (see
// [ResetStateFile]).
var ErrStateDamaged = errors.New("the state file is damaged")

// damaged returns an error wrapping [ErrStateDamaged] that names path and
// says how to recover.
func damaged(path string, format string, args ...any) error {
	return &DamagedError{Path: path, Reason: fmt.Sprintf(format, args...)}
}

// DamagedError is the error for a damaged state file. It wraps
// [ErrStateDamaged].
type DamagedError struct {
	Path   string // the state file
	Reason string // what is wrong with it
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("state file %s is damaged: %s; the agent will not start from it. "+
		"To recover, run `tollgate-agent --reset-state` (with the same config): it keeps this file aside, "+
		"fetches the POP's whole state from the controller and serves no redirects until that has arrived",
		e.Path, e.Reason)
}

func (e *DamagedError) Unwrap() error { return ErrStateDamaged }

// The on-disk layout of a bbolt (format version 2) file, as far as
// verifyBolt needs it. Every number is in the machine's byte order.
const (
	boltMagic            = 0xED0CDAED
	boltVersion          = 2
	boltPageHeaderSize   = 16 // id u64, flags u16, count u16, overflow u32
	boltMetaSize         = 64 // magic, version, pageSize, flags u32; root {pgid, seq} u64s; freelist, pgid, txid, checksum u64
	boltMetaChecksumAt   = 56 // the checksum covers the meta's bytes before it
	boltElementSize      = 16 // branch: pos u32, ksize u32, pgid u64; leaf: flags u32, pos u32, ksize u32, vsize u32
	boltBucketHeaderSize = 16 // root pgid u64, sequence u64
	boltBranchPage       = 0x01
	boltLeafPage         = 0x02
	boltFreelistPage     = 0x10
	boltBucketLeafFlag   = 0x01
	boltNoFreelist       = ^uint64(0)
	boltMinPageSize      = 1024
	boltMaxPageSize      = 16 << 20
)

var ne = binary.NativeEndian

type boltMeta struct {
	pageSize            uint32
	root, freelist, hwm uint64
	txid                uint64
	valid               bool
}

func parseBoltMeta(page []byte) boltMeta {
	if len(page) < boltPageHeaderSize+boltMetaSize {
		return boltMeta{}
	}
	m := page[boltPageHeaderSize : boltPageHeaderSize+boltMetaSize]
	h := fnv.New64a()
	h.Write(m[:boltMetaChecksumAt])
	bm := boltMeta{
		pageSize: ne.Uint32(m[8:]),
		root:     ne.Uint64(m[16:]),
		freelist: ne.Uint64(m[32:]),
		hwm:      ne.Uint64(m[40:]),
		txid:     ne.Uint64(m[48:]),
	}
	bm.valid = ne.Uint32(m[0:]) == boltMagic && ne.Uint32(m[4:]) == boltVersion && ne.Uint64(m[boltMetaChecksumAt:]) == h.Sum64()
	return bm
}

// verifyBolt checks, reading f with plain reads, that the bbolt file is
// whole and that its pages form a consistent tree: a meta page bbolt would
// use, a high-water mark within the file, every page reached from the root
// (buckets, nested and inline, and the freelist) of a sound type, with its
// elements, keys and values inside the page, keys in order, no page
// reached twice, and every page either reached or free. bbolt trusts all of
// this: it memory-maps the file and follows its offsets unchecked, so a
// damaged file makes it panic (sometimes in a goroutine of its own) or read
// outside the mapping and crash on SIGBUS/SIGSEGV. Once verifyBolt has
// passed, nothing bbolt reads points outside the file. It returns a
// [DamagedError] for a damaged file, another error for a file it could not
// read.
func verifyBolt(f *os.File, path string) error {
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("state file %s: %w", path, err)
	}
	size := info.Size()
	if size == 0 {
		return damaged(path, "it is empty (0 bytes)")
	}
	head := make([]byte, min(size, 0x1000))
	if _, err := f.ReadAt(head, 0); err != nil {
		return fmt.Errorf("state file %s: %w", path, err)
	}
	// The page size, as bbolt finds it: from the first meta page, else from
	// the second, tried at every possible page size.
	var pageSize uint32
	if m := parseBoltMeta(head); m.valid {
		pageSize = m.pageSize
	} else {
		for ps := int64(boltMinPageSize); ps <= boltMaxPageSize && ps < size-boltMinPageSize; ps <<= 1 {
			buf := make([]byte, boltPageHeaderSize+boltMetaSize)
			if n, _ := f.ReadAt(buf, ps); n == len(buf) {
				if m := parseBoltMeta(buf); m.valid {
					pageSize = m.pageSize
					break
				}
			}
		}
	}
	if pageSize == 0 {
		if !bytes.HasPrefix(head[min(len(head), boltPageHeaderSize):], ne.AppendUint32(nil, boltMagic)) {
			return damaged(path, "it is not a bbolt database (no valid header: %d bytes that do not begin with bbolt's meta page)", size)
		}
		return damaged(path, "neither of its two meta pages is valid (checksum or version wrong)")
	}
	if pageSize < boltMinPageSize || pageSize > boltMaxPageSize || pageSize&(pageSize-1) != 0 {
		return damaged(path, "its header gives an impossible page size %d", pageSize)
	}
	ps := int64(pageSize)
	if size < 2*ps {
		return damaged(path, "it is cut short: %d bytes, less than its two meta pages of %d bytes", size, ps)
	}
	readPage := func(id uint64, n int64) ([]byte, error) {
		buf := make([]byte, n)
		if _, err := f.ReadAt(buf, int64(id)*ps); err != nil {
			return nil, fmt.Errorf("state file %s: reading page %d: %w", path, id, err)
		}
		return buf, nil
	}
	var metas [2]boltMeta
	for i := range metas {
		p, err := readPage(uint64(i), boltPageHeaderSize+boltMetaSize)
		if err != nil {
			return err
		}
		metas[i] = parseBoltMeta(p)
	}
	// bbolt uses the meta page with the higher transaction id, or the
	// other when that one is not valid (a torn last write).
	meta := metas[0]
	if metas[1].txid > metas[0].txid && metas[1].valid || !metas[0].valid {
		meta = metas[1]
	}
	if !meta.valid {
		return damaged(path, "neither of its two meta pages is valid (checksum or version wrong)")
	}
	if meta.pageSize != pageSize {
		return damaged(path, "its meta pages disagree on the page size (%d, %d)", pageSize, meta.pageSize)
	}
	hwm := meta.hwm
	if hwm < 3 || hwm > uint64(size/ps) {
		return damaged(path, "it is cut short or its header is wrong: the header counts %d pages of %d bytes, the file holds %d bytes (%d pages)",
			hwm, ps, size, size/ps)
	}
	if meta.root < 2 || meta.root >= hwm {
		return damaged(path, "its root page %d lies outside its pages 2–%d", meta.root, hwm-1)
	}

	v := &boltVerifier{path: path, hwm: hwm, pageSize: ps, readPage: readPage, reached: make(map[uint64]bool), free: make(map[uint64]bool)}
	v.reached[0], v.reached[1] = true, true
	if meta.freelist != boltNoFreelist {
		if err := v.freelist(meta.freelist); err != nil {
			return err
		}
	}
	if err := v.page(meta.root, 0); err != nil {
		return err
	}
	// Without a stored freelist (bbolt's NoFreelistSync, which the agent
	// does not use) free pages are not listed anywhere.
	for id := uint64(2); id < hwm && meta.freelist != boltNoFreelist; id++ {
		if !v.reached[id] && !v.free[id] {
			return damaged(path, "page %d is neither in use nor free", id)
		}
	}
	return nil
}

type boltVerifier struct {
	path     string
	hwm      uint64
	pageSize int64
	readPage func(id uint64, n int64) ([]byte, error)
	reached  map[uint64]bool // pages in use
	free     map[uint64]bool // pages on the freelist
}

// maxBucketDepth bounds the nesting of buckets and B+tree levels walked; a
// sound file of the agent's is a few levels deep.
const maxBucketDepth = 64

// load reads page id with its overflow pages, after checking that they lie
// below the high-water mark and were not reached before.
func (v *boltVerifier) load(id uint64, what string) ([]byte, error) {
	if id < 2 || id >= v.hwm {
		return nil, damaged(v.path, "%s page %d lies outside its pages 2–%d", what, id, v.hwm-1)
	}
	hdr, err := v.readPage(id, boltPageHeaderSize)
	if err != nil {
		return nil, err
	}
	if got := ne.Uint64(hdr); got != id {
		return nil, damaged(v.path, "page %d (%s) calls itself page %d", id, what, got)
	}
	overflow := uint64(ne.Uint32(hdr[12:]))
	if overflow >= v.hwm-id {
		return nil, damaged(v.path, "page %d (%s) runs %d pages past the end of the file", id, what, overflow+1-(v.hwm-id))
	}
	for i := id; i <= id+overflow; i++ {
		if v.free[i] {
			return nil, damaged(v.path, "page %d is on the freelist and in use (as part of %s page %d)", i, what, id)
		}
		if v.reached[i] {
			return nil, damaged(v.path, "page %d is reached twice (as part of %s page %d)", i, what, id)
		}
		v.reached[i] = true
	}
	return v.readPage(id, int64(overflow+1)*v.pageSize)
}

func (v *boltVerifier) freelist(id uint64) error {
	p, err := v.load(id, "freelist")
	if err != nil {
		return err
	}
	if flags := ne.Uint16(p[8:]); flags != boltFreelistPage {
		return damaged(v.path, "its freelist page %d has type %#x", id, flags)
	}
	count, at := uint64(ne.Uint16(p[10:])), int64(boltPageHeaderSize)
	if count == 0xFFFF {
		count = ne.Uint64(p[at:])
		at += 8
	}
	if count > uint64(int64(len(p))-at)/8 {
		return damaged(v.path, "its freelist page %d lists %d pages, more than it holds", id, count)
	}
	for i := range count {
		fid := ne.Uint64(p[at+int64(i)*8:])
		switch {
		case fid < 2 || fid >= v.hwm:
			return damaged(v.path, "its freelist lists page %d, outside its pages 2–%d", fid, v.hwm-1)
		case v.free[fid]:
			return damaged(v.path, "its freelist lists page %d twice", fid)
		case v.reached[fid]:
			return damaged(v.path, "its freelist lists page %d, which is in use", fid)
		}
		v.free[fid] = true
	}
	return nil
}

// page checks a bucket's B+tree page id and everything below it.
func (v *boltVerifier) page(id uint64, depth int) error {
	if depth > maxBucketDepth {
		return damaged(v.path, "its pages nest deeper than %d levels", maxBucketDepth)
	}
	p, err := v.load(id, "tree")
	if err != nil {
		return err
	}
	return v.elements(p, fmt.Sprintf("page %d", id), depth)
}

// elements checks the elements of a branch or leaf page p (a page of the
// file, or an inline bucket's page), and follows them.
func (v *boltVerifier) elements(p []byte, where string, depth int) error {
	flags, count := ne.Uint16(p[8:]), int(ne.Uint16(p[10:]))
	if flags != boltBranchPage && flags != boltLeafPage {
		return damaged(v.path, "%s has type %#x, not a branch or leaf page", where, flags)
	}
	if flags == boltBranchPage && count == 0 {
		return damaged(v.path, "%s is an empty branch page", where)
	}
	if boltPageHeaderSize+count*boltElementSize > len(p) {
		return damaged(v.path, "%s claims %d elements, more than it holds", where, count)
	}
	var prev []byte
	for i := range count {
		at := boltPageHeaderSize + i*boltElementSize
		e := p[at : at+boltElementSize]
		var pos, ksize, vsize uint64
		if flags == boltBranchPage {
			pos, ksize = uint64(ne.Uint32(e[0:])), uint64(ne.Uint32(e[4:]))
		} else {
			pos, ksize, vsize = uint64(ne.Uint32(e[4:])), uint64(ne.Uint32(e[8:])), uint64(ne.Uint32(e[12:]))
		}
		start := uint64(at) + pos
		if start+ksize+vsize > uint64(len(p)) {
			return damaged(v.path, "%s: element %d points past the end of its page", where, i)
		}
		key := p[start : start+ksize]
		if i > 0 && bytes.Compare(prev, key) >= 0 {
			return damaged(v.path, "%s: keys out of order at element %d", where, i)
		}
		prev = key
		if flags == boltBranchPage {
			if err := v.page(ne.Uint64(e[8:]), depth+1); err != nil {
				return err
			}
			continue
		}
		if ne.Uint32(e[0:])&boltBucketLeafFlag == 0 {
			continue
		}
		// A nested bucket: its header, then its root page, or (root 0)
		// its inline page within the value.
		val := p[start+ksize : start+ksize+vsize]
		if len(val) < boltBucketHeaderSize {
			return damaged(v.path, "%s: bucket %q has a %d-byte header", where, key, len(val))
		}
		if root := ne.Uint64(val); root != 0 {
			if err := v.page(root, depth+1); err != nil {
				return err
			}
			continue
		}
		inline := val[boltBucketHeaderSize:]
		if len(inline) < boltPageHeaderSize {
			return damaged(v.path, "%s: bucket %q has a %d-byte inline page", where, key, len(inline))
		}
		if depth+1 > maxBucketDepth {
			return damaged(v.path, "its buckets nest deeper than %d levels", maxBucketDepth)
		}
		if err := v.elements(inline, fmt.Sprintf("%s: bucket %q", where, key), depth+1); err != nil {
			return err
		}
	}
	return nil
}

// ResetStateFile moves the state file at path, if there is one, aside to
// path.reset-<UTC time>, so that the agent starts from a new, empty file
// that asks the controller for the POP's whole state (since_revision 0)
// and serves no redirects until it has arrived. It returns where the old
// file was kept ("" if there was none). A file in use by another process
// is refused, and nothing is moved.
func ResetStateFile(path string, now time.Time) (keptAs string, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("state file: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return "", fmt.Errorf("state file %s is locked by another process (stop the running tollgate-agent first): %w", path, err)
	}
	keptAs = path + ".reset-" + now.UTC().Format("20060102T150405Z")
	if err := os.Rename(path, keptAs); err != nil {
		return "", fmt.Errorf("state file: keeping the old file aside: %w", err)
	}
	return keptAs, nil
}

// Format 2 seals what bbolt does not: bbolt checks its own structure, not
// the values, so a flipped bit inside a record (a suspended service read
// as active) or a meta entry (the revision) would go unnoticed. Each record
// ends with field fSeal, a fixed32 CRC-32C of the bytes before it; the meta
// bucket's known entries are summed into keyMetaSum. Both are checked when
// the file is opened (and records whenever they are decoded).
const fSeal protowire.Number = 15

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	keyMetaSum = []byte("sum")
	// sealTag is fSeal's tag: one byte.
	sealTag = protowire.AppendTag(nil, fSeal, protowire.Fixed32Type)
	// summedMetaKeys are the meta entries keyMetaSum covers.
	summedMetaKeys = [][]byte{keyFormat, keyPOP, keyRevision, keyLastContact, keyRedirect, keyAwaitingSnapshot}
)

// sealRecord appends the seal to an encoded record.
func sealRecord(b []byte) []byte {
	b = append(b, sealTag...)
	return protowire.AppendFixed32(b, crc32.Checksum(b, castagnoli))
}

// unsealRecord checks a record's seal and returns the record without it.
func unsealRecord(b []byte) ([]byte, error) {
	n := len(b) - len(sealTag) - 4
	if n < 0 || !bytes.Equal(b[n:n+len(sealTag)], sealTag) {
		return nil, errors.New("the record has no checksum")
	}
	if sum, _ := protowire.ConsumeFixed32(b[n+len(sealTag):]); sum != crc32.Checksum(b[:n+len(sealTag)], castagnoli) {
		return nil, errors.New("the record fails its checksum")
	}
	return b[:n], nil
}

func metaSum(meta *bolt.Bucket) []byte {
	h := crc32.New(castagnoli)
	var buf []byte
	for _, k := range summedMetaKeys {
		v := meta.Get(k)
		buf = protowire.AppendBytes(buf[:0], k)
		if v != nil {
			buf = append(buf, 1)
			buf = protowire.AppendBytes(buf, v)
		} else {
			buf = append(buf, 0)
		}
		h.Write(buf)
	}
	return h.Sum(nil)
}

// putMetaSum stores the sum of the meta entries; every transaction that
// changes one calls it last.
func putMetaSum(meta *bolt.Bucket) error { return meta.Put(keyMetaSum, metaSum(meta)) }

// checkMetaSum checks the meta entries against their sum.
func checkMetaSum(meta *bolt.Bucket) error {
	if !bytes.Equal(meta.Get(keyMetaSum), metaSum(meta)) {
		return errors.New("its meta entries (format, POP, revision, redirect settings) fail their checksum")
	}
	return nil
}

// sealFormat1 turns a format 1 file into format 2: every record is
// sealed, and the format raised (the caller sums the meta entries).
func sealFormat1(meta, svcs *bolt.Bucket) error {
	type kv struct{ k, v []byte }
	var sealed []kv
	err := svcs.ForEach(func(k, v []byte) error {
		r, err := decodeRecordBody(v)
		if err != nil {
			return fmt.Errorf("service %q does not decode: %w", k, err)
		}
		sealed = append(sealed, kv{bytes.Clone(k), encodeRecord(r)})
		return nil
	})
	if err != nil {
		return err
	}
	for _, e := range sealed {
		if err := svcs.Put(e.k, e.v); err != nil {
			return err
		}
	}
	return meta.Put(keyFormat, putInt(storeFormat))
}
