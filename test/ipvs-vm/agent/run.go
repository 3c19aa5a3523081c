package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// job is what the test writes into the per-run initramfs (test/ipvs-vm/job.ts).
type job struct {
	// Setup: a shell script that builds the namespaces (run once).
	Setup string `json:"setup"`
	// Servers: echo servers per namespace.
	Servers []struct {
		NS    string       `json:"ns"`
		Specs []serverSpec `json:"specs"`
	} `json:"servers"`
	Scenarios []struct {
		Name string `json:"name"`
		// Load: a shell script that resets the node namespace and loads the rendered files.
		Load   string `json:"load"`
		Groups []struct {
			NS string `json:"ns"`
			group
		} `json:"groups"`
	} `json:"scenarios"`
}

func sh(script string) (string, error) {
	cmd := exec.Command("/bin/sh", "-ec", script)
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	err := cmd.Run()
	return buf.String(), err
}

func startServer(ns string, specs []serverSpec) error {
	b, _ := json.Marshal(specs)
	cmd := exec.Command("ip", "netns", "exec", ns, "/bin/kpx-vm", "serve", string(b))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.Contains(line, "ready") {
		return fmt.Errorf("server in %s not ready: %q %v", ns, line, err)
	}
	return nil
}

func probeIn(ns string, groups []group) (map[string][]result, error) {
	b, _ := json.Marshal(map[string]any{"groups": groups})
	cmd := exec.Command("ip", "netns", "exec", ns, "/bin/kpx-vm", "probe")
	cmd.Stdin = bytes.NewReader(b)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("probe in %s: %v: %s", ns, err, stderr.String())
	}
	res := map[string][]result{}
	return res, json.Unmarshal(out, &res)
}

func runJob(path string) error {
	start := time.Now()
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var j job
	if err := json.Unmarshal(raw, &j); err != nil {
		return err
	}
	if out, err := sh(j.Setup); err != nil {
		emit("KPX-DONE", map[string]any{"ok": false, "error": "setup: " + err.Error() + ": " + out})
		return nil
	}
	for _, s := range j.Servers {
		if err := startServer(s.NS, s.Specs); err != nil {
			emit("KPX-DONE", map[string]any{"ok": false, "error": err.Error()})
			return nil
		}
	}
	emit("KPX-READY", map[string]any{"setupMs": time.Since(start).Milliseconds()})
	for _, sc := range j.Scenarios {
		t0 := time.Now()
		out, err := sh(sc.Load)
		load := map[string]any{"scenario": sc.Name, "ok": err == nil, "output": out}
		emit("KPX-LOAD", load)
		if err != nil {
			continue
		}
		byNS := map[string][]group{}
		for _, g := range sc.Groups {
			byNS[g.NS] = append(byNS[g.NS], g.group)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for ns, gs := range byNS {
			ns, gs := ns, gs
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := probeIn(ns, gs)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					emit("KPX-ERROR", map[string]any{"scenario": sc.Name, "error": err.Error()})
					return
				}
				for id, r := range res {
					emit("KPX-RESULT", map[string]any{"scenario": sc.Name, "id": id, "results": r})
				}
			}()
		}
		wg.Wait()
		emit("KPX-SCENARIO", map[string]any{"scenario": sc.Name, "ms": time.Since(t0).Milliseconds()})
	}
	emit("KPX-DONE", map[string]any{"ok": true, "ms": time.Since(start).Milliseconds()})
	return nil
}
