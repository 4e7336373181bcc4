package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseArgsStressNgForms(t *testing.T) {
	cases := []struct {
		args []string
		want Config
	}{
		// What faults/cpu-stress.ts emits.
		{[]string{"--cpu", "2", "--cpu-load", "50", "--cpu-method", "int64", "--timeout", "33s"},
			Config{CPUWorkers: 2, CPULoad: 50, Timeout: 33 * time.Second}},
		// What faults/memory-stress.ts emits.
		{[]string{"--vm", "2", "--vm-bytes", "268435456", "--vm-keep", "--timeout", "40s"},
			Config{VMWorkers: 2, VMBytes: 268435456, CPULoad: 100, Timeout: 40 * time.Second}},
		{[]string{"--cpu", "1"}, Config{CPUWorkers: 1, CPULoad: 100}},
		{[]string{"-cpu=3", "--cpu-load=7", "--timeout", "2m"}, Config{CPUWorkers: 3, CPULoad: 7, Timeout: 2 * time.Minute}},
		{[]string{"--vm-bytes", "64M"}, Config{VMWorkers: 1, VMBytes: 64 << 20, CPULoad: 100}},
		{[]string{"--vm", "1", "--vm-bytes", "1.5g", "--timeout", "90"},
			Config{VMWorkers: 1, VMBytes: 3 << 29, CPULoad: 100, Timeout: 90 * time.Second}},
	}
	for _, c := range cases {
		got, err := ParseArgs(c.args)
		if err != nil {
			t.Errorf("%v: %v", c.args, err)
			continue
		}
		if got != c.want {
			t.Errorf("%v: got %+v, want %+v", c.args, got, c.want)
		}
	}
}

func TestParseArgsRejects(t *testing.T) {
	cases := map[string][]string{
		"nothing to do":                 {},
		"--cpu-load must be":            {"--cpu", "1", "--cpu-load", "0"},
		"--cpu-load must be 1":          {"--cpu", "1", "--cpu-load", "101"},
		"--cpu must be":                 {"--cpu", "-1"},
		"--vm needs --vm-bytes":         {"--vm", "1"},
		"not a positive size":           {"--vm", "1", "--vm-bytes", "-5"},
		"size out of range":             {"--vm", "1", "--vm-bytes", "1000000G"},
		"not a positive duration":       {"--cpu", "1", "--timeout", "soon"},
		"unexpected argument":           {"--cpu", "1", "extra"},
		"flag provided but not defined": {"--cpu", "1", "--io", "2"},
	}
	for want, args := range cases {
		_, err := ParseArgs(args)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: got error %v, want one containing %q", args, err, want)
		}
	}
}

func TestParseBytesUnits(t *testing.T) {
	for in, want := range map[string]int64{"4096": 4096, "4k": 4096, "4KB": 4096, "2m": 2 << 20, "1G": 1 << 30} {
		got, err := ParseBytes(in)
		if err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}
