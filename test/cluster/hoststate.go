package cluster

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
)

// HostSysctls are the sysctls a real node (kubelet, the CNI bridge plugin) changes on the
// host: HostState records and restores them.
var HostSysctls = []string{
	"kernel.panic",
	"kernel.panic_on_oops",
	"kernel.keys.root_maxkeys",
	"kernel.keys.root_maxbytes",
	"vm.overcommit_memory",
	"vm.panic_on_oom",
	"net.ipv4.ip_forward",
	"net.ipv4.conf.all.route_localnet",
	"net.bridge.bridge-nf-call-iptables",
	"net.bridge.bridge-nf-call-ip6tables",
}

// iptablesTables are the tables kubelet and the CNI plugins add chains and rules to.
var iptablesTables = []string{"filter", "nat", "mangle"}

// HostState is what a real node changes on the host, as found before it started, so that
// Restore can put the host back exactly: sysctls, mounts, iptables chains and rules, network
// links and the directories kubelet creates outside its root dir.
type HostState struct {
	// Sysctls maps each of HostSysctls that exists to its value.
	Sysctls map[string]string
	// Mounts are the mount points, in /proc/self/mountinfo order.
	Mounts []string
	// IPTables maps each table to its iptables-save dump without counters and comments;
	// nil without an iptables binary.
	IPTables map[string]string
	// Links are the network interfaces' names, sorted.
	Links []string
	// Dirs maps each of the directories given to SnapshotHost to whether it existed.
	Dirs map[string]bool
}

// SnapshotHost records the host state. dirs are directories the node may create (e.g.
// /var/lib/kubelet): Restore removes those that did not exist.
func SnapshotHost(dirs ...string) (*HostState, error) {
	h := &HostState{Sysctls: map[string]string{}, Dirs: map[string]bool{}}
	for _, name := range HostSysctls {
		b, err := os.ReadFile(sysctlPath(name))
		if errors.Is(err, os.ErrNotExist) {
			continue // e.g. br_netfilter not loaded
		}
		if err != nil {
			return nil, err
		}
		h.Sysctls[name] = strings.TrimSpace(string(b))
	}
	var err error
	if h.Mounts, err = mountPoints(); err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("iptables-save"); err == nil {
		h.IPTables = map[string]string{}
		for _, t := range iptablesTables {
			out, err := exec.Command("iptables-save", "-t", t).Output()
			if err != nil {
				return nil, fmt.Errorf("iptables-save -t %s: %w", t, err)
			}
			h.IPTables[t] = normalizeIPTables(out)
		}
	}
	if h.Links, err = links(); err != nil {
		return nil, err
	}
	for _, d := range dirs {
		_, err := os.Stat(d)
		h.Dirs[d] = err == nil
	}
	return h, nil
}

// Diff describes how o differs from h; empty when they are the same.
func (h *HostState) Diff(o *HostState) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(h.Sysctls)) {
		if h.Sysctls[k] != o.Sysctls[k] {
			fmt.Fprintf(&b, "sysctl %s: %q, then %q\n", k, h.Sysctls[k], o.Sysctls[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(o.Sysctls)) {
		if _, ok := h.Sysctls[k]; !ok {
			fmt.Fprintf(&b, "sysctl %s: appeared (%q)\n", k, o.Sysctls[k])
		}
	}
	diffList(&b, "mount", h.Mounts, o.Mounts)
	diffList(&b, "link", h.Links, o.Links)
	for _, t := range slices.Sorted(maps.Keys(h.IPTables)) {
		if h.IPTables[t] != o.IPTables[t] {
			fmt.Fprintf(&b, "iptables table %s:\n--- before\n%s--- after\n%s", t, h.IPTables[t], o.IPTables[t])
		}
	}
	for _, d := range slices.Sorted(maps.Keys(h.Dirs)) {
		if h.Dirs[d] != o.Dirs[d] {
			fmt.Fprintf(&b, "directory %s: existed %v, then %v\n", d, h.Dirs[d], o.Dirs[d])
		}
	}
	return b.String()
}

func diffList(b *strings.Builder, what string, before, after []string) {
	had := map[string]bool{}
	for _, m := range before {
		had[m] = true
	}
	has := map[string]bool{}
	for _, m := range after {
		has[m] = true
		if !had[m] {
			fmt.Fprintf(b, "%s %s: added\n", what, m)
		}
	}
	for _, m := range before {
		if !has[m] {
			fmt.Fprintf(b, "%s %s: gone\n", what, m)
		}
	}
}

// Restore puts the host back as h found it: it unmounts what was mounted since (deepest
// first), deletes the links that appeared (the CNI bridge, veths), restores each iptables
// table from its dump (a table that was empty is flushed, its chains deleted), writes the
// sysctls back and removes the directories that did not exist. Every step is tried; the
// errors are joined.
func (h *HostState) Restore() error {
	var errs []error
	now, err := mountPoints()
	if err != nil {
		errs = append(errs, err)
	}
	had := map[string]bool{}
	for _, m := range h.Mounts {
		had[m] = true
	}
	var added []string
	for _, m := range now {
		if !had[m] {
			added = append(added, m)
		}
	}
	// Deepest first, and the last mounted first where one is mounted over another.
	slices.Reverse(added)
	sort.SliceStable(added, func(i, j int) bool { return strings.Count(added[i], "/") > strings.Count(added[j], "/") })
	for _, m := range added {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", m, err))
		}
	}
	nowLinks, err := links()
	if err != nil {
		errs = append(errs, err)
	}
	for _, l := range nowLinks {
		if !slices.Contains(h.Links, l) {
			if out, err := exec.Command("ip", "link", "delete", l).CombinedOutput(); err != nil {
				// A veth goes with its peer: already gone is fine.
				if !bytes.Contains(out, []byte("Cannot find device")) {
					errs = append(errs, fmt.Errorf("ip link delete %s: %w: %s", l, err, out))
				}
			}
		}
	}
	for _, t := range slices.Sorted(maps.Keys(h.IPTables)) {
		if err := restoreIPTables(t, h.IPTables[t]); err != nil {
			errs = append(errs, err)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(h.Sysctls)) {
		if err := os.WriteFile(sysctlPath(k), []byte(h.Sysctls[k]+"\n"), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("sysctl %s=%s: %w", k, h.Sysctls[k], err))
		}
	}
	for _, d := range slices.Sorted(maps.Keys(h.Dirs)) {
		if !h.Dirs[d] {
			if err := os.RemoveAll(d); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func restoreIPTables(table, dump string) error {
	if dump == "" {
		// Nothing was there: flush the table and delete its chains (both are no-ops when the
		// table was never used).
		for _, args := range [][]string{{"-t", table, "-F"}, {"-t", table, "-X"}} {
			if out, err := exec.Command("iptables", args...).CombinedOutput(); err != nil {
				return fmt.Errorf("iptables %s: %w: %s", strings.Join(args, " "), err, out)
			}
		}
		return nil
	}
	cmd := exec.Command("iptables-restore", "--table", table)
	cmd.Stdin = strings.NewReader(dump)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("iptables-restore --table %s: %w: %s", table, err, out)
	}
	return nil
}

// normalizeIPTables drops comments and packet counters from an iptables-save dump, so that
// two dumps of the same rules compare equal.
func normalizeIPTables(out []byte) string {
	var b strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		if strings.HasPrefix(line, ":") {
			// ":CHAIN POLICY [packets:bytes]"
			if i := strings.LastIndexByte(line, '['); i > 0 {
				line = strings.TrimSpace(line[:i])
			}
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

func sysctlPath(name string) string {
	return filepath.Join("/proc/sys", strings.ReplaceAll(name, ".", "/"))
}

// mountPoints lists the mount points of /proc/self/mountinfo (field 5), in order.
func mountPoints() ([]string, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 {
			out = append(out, unescapeMount(f[4]))
		}
	}
	return out, nil
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func links() ([]string, error) {
	entries, err := os.ReadDir("/sys/class/net")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out, nil
}
