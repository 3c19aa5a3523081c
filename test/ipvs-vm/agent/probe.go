package main

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type probe struct {
	Proto     string `json:"proto"`
	Dst       string `json:"dst"`
	Dport     int    `json:"dport"`
	Src       string `json:"src,omitempty"`
	TimeoutMs int    `json:"timeoutMs"`
}

type group struct {
	ID          string  `json:"id"`
	Concurrency int     `json:"concurrency"`
	Probes      []probe `json:"probes"`
}

// result is one of: {"kind":"answer","endpoint","peerSeen"}, {"kind":"refused"},
// {"kind":"timeout"}, {"kind":"error","code"} (as probe-client.mjs).
type result struct {
	Kind     string `json:"kind"`
	Endpoint string `json:"endpoint,omitempty"`
	PeerSeen string `json:"peerSeen,omitempty"`
	Code     string `json:"code,omitempty"`
}

func parseAnswer(text string) result {
	f := strings.Fields(text)
	if len(f) < 2 {
		return result{Kind: "error", Code: "BADANSWER " + strconv.Quote(text)}
	}
	return result{Kind: "answer", Endpoint: f[0], PeerSeen: f[1]}
}

func errorResult(err error) result {
	var ne net.Error
	if errors.Is(err, syscall.ECONNREFUSED) {
		return result{Kind: "refused"}
	}
	if errors.As(err, &ne) && ne.Timeout() {
		return result{Kind: "timeout"}
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return result{Kind: "error", Code: errnoName(errno)}
	}
	return result{Kind: "error", Code: err.Error()}
}

func errnoName(e syscall.Errno) string {
	switch e {
	case syscall.EHOSTUNREACH:
		return "EHOSTUNREACH"
	case syscall.ENETUNREACH:
		return "ENETUNREACH"
	case syscall.ECONNRESET:
		return "ECONNRESET"
	}
	return e.Error()
}

func doProbe(p probe) result {
	timeout := time.Duration(p.TimeoutMs) * time.Millisecond
	deadline := time.Now().Add(timeout)
	d := net.Dialer{Deadline: deadline}
	dst := net.JoinHostPort(p.Dst, strconv.Itoa(p.Dport))
	if p.Proto == "udp" {
		if p.Src != "" {
			d.LocalAddr = &net.UDPAddr{IP: net.ParseIP(p.Src)}
		}
		c, err := d.Dial("udp", dst)
		if err != nil {
			return errorResult(err)
		}
		defer c.Close()
		_ = c.SetDeadline(deadline)
		if _, err := c.Write([]byte("probe")); err != nil {
			return errorResult(err)
		}
		buf := make([]byte, 1500)
		n, err := c.Read(buf)
		if err != nil {
			return errorResult(err)
		}
		return parseAnswer(string(buf[:n]))
	}
	if p.Src != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(p.Src)}
	}
	c, err := d.Dial("tcp", dst)
	if err != nil {
		return errorResult(err)
	}
	defer c.Close()
	_ = c.SetDeadline(deadline)
	b, err := io.ReadAll(c)
	if err != nil && len(b) == 0 {
		return errorResult(err)
	}
	return parseAnswer(string(b))
}

func runGroup(g group) []result {
	out := make([]result, len(g.Probes))
	conc := g.Concurrency
	if conc < 1 {
		conc = 1
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < conc && w < len(g.Probes); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = doProbe(g.Probes[i])
			}
		}()
	}
	for i := range g.Probes {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// runGroups sends every group concurrently and returns results by group id.
func runGroups(groups []group) map[string][]result {
	out := make(map[string][]result, len(groups))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, g := range groups {
		g := g
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := runGroup(g)
			mu.Lock()
			out[g.ID] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

func probeMain(in io.Reader, out io.Writer) error {
	var req struct {
		Groups []group `json:"groups"`
	}
	if err := json.NewDecoder(in).Decode(&req); err != nil {
		return err
	}
	return json.NewEncoder(out).Encode(runGroups(req.Groups))
}
