package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// memoryOf is a process's resident set from /proc: pid 0 is this process.
type memoryOf struct {
	// RSS is the whole resident set; Anon is the part that is the process's own memory (heap,
	// stacks). The rest is file-backed: the pages of the executable mapped from the page cache,
	// shared and reclaimable.
	RSS, Anon float64
}

func residentSet(pid int) memoryOf {
	proc := "self"
	if pid != 0 {
		proc = strconv.Itoa(pid)
	}
	m := memoryOf{RSS: -1, Anon: -1}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%s/status", proc))
	if err != nil {
		return m
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			m.RSS = kb / 1024
		case "RssAnon:":
			m.Anon = kb / 1024
		}
	}
	return m
}

func (m memoryOf) String() string {
	return fmt.Sprintf("RSS %.1f MiB (anonymous %.1f MiB, file-backed %.1f MiB)", m.RSS, m.Anon, m.RSS-m.Anon)
}
