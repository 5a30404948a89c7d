package recon

import (
	"fmt"
	"unsafe"
)

// Packed calls fn with the items in order, packed KeySize bytes each, at
// most one block's worth per call. chunk is only valid during the call.
// node/store persists the index this way, so that a clean start reads it
// back with AppendPacked instead of scanning and decoding every key.
func (ix *Index) Packed(fn func(chunk []byte) error) error {
	buf := make([]byte, 0, PackedBlock)
	for _, b := range ix.blocks {
		buf = buf[:0]
		for i := range b.n {
			buf = append(buf, b.keys[i][:]...)
		}
		if len(buf) == 0 {
			continue
		}
		if err := fn(buf); err != nil {
			return err
		}
	}
	return nil
}

// AppendPacked adds items packed as Packed writes them, which must all be
// above the items already held and in strictly ascending order; blocks are
// filled completely, as Load fills them. On error the index is unchanged.
func (ix *Index) AppendPacked(packed []byte) error {
	// Checked before anything is added, so that a damaged chunk leaves
	// the index as it was.
	if err := ix.checkPacked(packed); err != nil {
		return err
	}
	ix.appendCopies(packed)
	return nil
}

// checkPacked checks that packed, a whole number of packed items, could
// be appended: ascending, above what the index holds, no negative clock.
func (ix *Index) checkPacked(packed []byte) error {
	if len(packed)%keyLen != 0 {
		return fmt.Errorf("recon: packed items: %d bytes is not a whole number of items", len(packed))
	}
	prev, have := ix.last, ix.n > 0
	for off, i := 0, 0; off < len(packed); off, i = off+keyLen, i+1 {
		k := (*key)(packed[off : off+keyLen])
		if k[0]&0x80 != 0 {
			return fmt.Errorf("recon: packed item %d has a negative clock", i)
		}
		if have && cmpKey(&prev, k) >= 0 {
			return fmt.Errorf("recon: packed item %d (%s) is not above the one before it", i, k.item())
		}
		prev, have = *k, true
	}
	return nil
}

// appendCopies copies checked packed items into the index's blocks.
func (ix *Index) appendCopies(packed []byte) {
	for off := 0; off < len(packed); off += keyLen {
		k := key(packed[off : off+keyLen])
		if len(ix.blocks) == 0 || ix.blocks[len(ix.blocks)-1].n == blockCap {
			ix.blocks = append(ix.blocks, ix.newBlock())
		}
		b := ix.blocks[len(ix.blocks)-1]
		b.keys[b.n] = k
		b.n++
		b.sum.add(&k)
		ix.total.add(&k)
		ix.n++
	}
	if len(packed) > 0 {
		ix.last = key(packed[len(packed)-keyLen:])
	}
}

// PackedBlock is the size of a block of packed items, a block's keys:
// AppendPackedIn uses items in place a whole block at a time, so its
// callers pass multiples of it.
const PackedBlock = blockCap * keyLen

// AppendPackedIn is AppendPacked for items that also lie in mem, the same
// bytes in memory that the index may keep and write to for as long as
// keep is reachable: the blocks that use mem hold keep (node/store passes
// a private, writable mapping of its saved index, and unmaps it when its
// owner, keep, is collected).
// Whole blocks of items are used where they lie in mem instead of being
// copied; packed, a copy read some other way, is what is checked and
// summed, so that mem's pages are only read in when a reconciliation or
// an insert reaches them: a million items' 42 MB are not part of a start.
// Items that make no whole block, or that follow a block not full, are
// copied as AppendPacked copies them. On error the index is unchanged.
func (ix *Index) AppendPackedIn(packed, mem []byte, keep any) error {
	if len(mem) != len(packed) {
		return fmt.Errorf("recon: packed items: %d bytes checked for %d in memory", len(packed), len(mem))
	}
	if err := ix.checkPacked(packed); err != nil {
		return err
	}
	if len(ix.blocks) > 0 && ix.blocks[len(ix.blocks)-1].n != blockCap {
		ix.appendCopies(packed)
		return nil
	}
	for len(packed) >= PackedBlock {
		b := &block{n: blockCap, keys: (*[blockCap]key)(unsafe.Pointer(unsafe.SliceData(mem))), keep: keep}
		for i := range b.n {
			b.sum.add((*key)(packed[i*keyLen : (i+1)*keyLen]))
		}
		ix.blocks = append(ix.blocks, b)
		ix.total.addSum(&b.sum)
		ix.n += blockCap
		ix.last = key(packed[PackedBlock-keyLen : PackedBlock])
		packed, mem = packed[PackedBlock:], mem[PackedBlock:]
	}
	ix.appendCopies(packed)
	return nil
}
