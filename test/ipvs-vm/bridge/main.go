// kpx-vm-bridge: lets a test on the host run commands inside the IPVS test VM, so that
// kpx's real IPVS adapter (src/sync/kernel/ipvs.ts) drives the VM's real ipset, ipvsadm,
// ip and iptables. Stdlib only; built by test/ipvs-vm/bridge.ts and added to the per-run
// initramfs with an /init that runs it instead of the scenario agent.
//
//	kpx-vm-bridge JOB.json DEVICE
//
// It runs the job's topology script and echo servers (the fields `setup` and `servers`
// of test/ipvs-vm/job.ts, servers through /bin/kpx-vm serve), then serves requests on
// DEVICE (the VM's second serial port, in raw mode), one JSON object per line:
//
//	→ {"id":1,"argv":["ipvsadm","-S","-n"],"stdin":"<base64>"}
//	← {"id":1,"code":0,"stdout":"<base64>","stderr":"<base64>"}
//
// Requests run concurrently (probes from several namespaces at once). The first line it
// writes is {"ready":true,"setupMs":N} (or "ready":false with an error); {"quit":true}
// ends it, and /init powers the VM off.
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

type job struct {
	Setup   string `json:"setup"`
	Servers []struct {
		NS    string          `json:"ns"`
		Specs json.RawMessage `json:"specs"`
	} `json:"servers"`
}

type request struct {
	ID    int      `json:"id"`
	Argv  []string `json:"argv"`
	Stdin []byte   `json:"stdin"`
	Quit  bool     `json:"quit"`
}

type response struct {
	ID     int    `json:"id"`
	Code   int    `json:"code"`
	Stdout []byte `json:"stdout"`
	Stderr []byte `json:"stderr"`
}

func setup(j job) error {
	cmd := exec.Command("/bin/sh", "-ec", j.Setup)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("setup: %v: %s", err, buf.String())
	}
	for _, s := range j.Servers {
		cmd := exec.Command("/usr/bin/ip", "netns", "exec", s.NS, "/bin/kpx-vm", "serve", string(s.Specs))
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
			return fmt.Errorf("server in %s not ready: %q %v", s.NS, line, err)
		}
	}
	return nil
}

func run(r request) response {
	cmd := exec.Command(r.Argv[0], r.Argv[1:]...)
	cmd.Stdin = bytes.NewReader(r.Stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	code := 0
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			code = 127
			errb.WriteString(err.Error())
		}
	}
	return response{ID: r.ID, Code: code, Stdout: out.Bytes(), Stderr: errb.Bytes()}
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: kpx-vm-bridge JOB.json DEVICE")
		os.Exit(2)
	}
	dev, err := os.OpenFile(os.Args[2], os.O_RDWR, 0)
	if err != nil {
		fmt.Printf("KPX-DONE {\"ok\":false,\"error\":%q}\n", err.Error())
		return
	}
	var mu sync.Mutex
	send := func(v any) {
		b, _ := json.Marshal(v)
		mu.Lock()
		defer mu.Unlock()
		dev.Write(append(b, '\n'))
	}
	start := time.Now()
	var j job
	raw, err := os.ReadFile(os.Args[1])
	if err == nil {
		err = json.Unmarshal(raw, &j)
	}
	if err == nil {
		err = setup(j)
	}
	if err != nil {
		send(map[string]any{"ready": false, "error": err.Error()})
		return
	}
	send(map[string]any{"ready": true, "setupMs": time.Since(start).Milliseconds()})
	in := bufio.NewReaderSize(dev, 1<<20)
	var wg sync.WaitGroup
	for {
		line, err := in.ReadBytes('\n')
		if err != nil {
			break
		}
		var r request
		if json.Unmarshal(bytes.TrimSpace(line), &r) != nil {
			continue
		}
		if r.Quit {
			wg.Wait()
			send(map[string]any{"bye": true})
			return
		}
		if len(r.Argv) == 0 {
			send(response{ID: r.ID, Code: 127, Stderr: []byte("empty argv")})
			continue
		}
		wg.Add(1)
		go func(r request) { defer wg.Done(); send(run(r)) }(r)
	}
}
