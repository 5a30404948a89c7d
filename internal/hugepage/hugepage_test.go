package hugepage

import (
	"bufio"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

func TestMakeIsMake(t *testing.T) {
	for _, n := range []int{0, 1, 1000, minBytes/8 + 1, 3 * pageSize / 8} {
		s := Make[uint64](n)
		if len(s) != n || cap(s) != n {
			t.Fatalf("Make(%d): len %d cap %d", n, len(s), cap(s))
		}
		for i, v := range s {
			if v != 0 {
				t.Fatalf("Make(%d)[%d] = %d, want zero", n, i, v)
			}
		}
	}
}

// TestMakeAdvises: on Linux with transparent huge pages, the whole huge
// pages inside a large slice are in a mapping the kernel marks for them
// ("hg" among the mapping's flags in /proc/self/smaps).
func TestMakeAdvises(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("huge pages are advised on Linux only")
	}
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil {
		t.Skip("this kernel has no transparent huge pages")
	}
	if advised, flags := madeAdvised(t); !advised {
		t.Errorf("a large slice's mapping has flags %q, want hg", flags)
	}
}

// madeAdvised makes a large slice and reports whether the mapping of its
// first whole huge page is advised for huge pages, and its flags.
func madeAdvised(t *testing.T) (bool, string) {
	t.Helper()
	s := Make[byte](3 * minBytes)
	start := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	flags, err := mappingFlags((start + pageSize - 1) &^ (pageSize - 1))
	if err != nil {
		t.Fatal(err)
	}
	runtime.KeepAlive(s)
	return strings.Contains(" "+flags+" ", " hg "), flags
}

// mappingFlags is the VmFlags line of the mapping of this process that
// holds address a.
func mappingFlags(a uintptr) (string, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		if lo, hi, ok := rangeOf(line); ok {
			in = lo <= a && a < hi
			continue
		}
		if in && strings.HasPrefix(line, "VmFlags:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmFlags:")), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", os.ErrNotExist
}

// rangeOf parses the address range at the start of a mapping's first
// line ("7f00-7f80 rw-p ...").
func rangeOf(line string) (uintptr, uintptr, bool) {
	field, _, _ := strings.Cut(line, " ")
	l, h, ok := strings.Cut(field, "-")
	if !ok {
		return 0, 0, false
	}
	lo, err1 := strconv.ParseUint(l, 16, 64)
	hi, err2 := strconv.ParseUint(h, 16, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return uintptr(lo), uintptr(hi), true
}

// TestMakeOff: CONVENE_HUGEPAGES=off leaves the memory as make gives it.
// Checked in a new process of this test binary: in this one, memory the
// other tests advised may be reused, and keeps its advice.
func TestMakeOff(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("huge pages are advised on Linux only")
	}
	if os.Getenv("CONVENE_HUGEPAGES") != "off" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMakeOff$", "-test.count=1")
		cmd.Env = append(os.Environ(), "CONVENE_HUGEPAGES=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return
	}
	if advised, flags := madeAdvised(t); advised {
		t.Errorf("with CONVENE_HUGEPAGES=off a large slice's mapping has flags %q", flags)
	}
}
