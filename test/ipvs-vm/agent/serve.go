package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

type serverSpec struct {
	IP    string `json:"ip"`
	Port  int    `json:"port"`
	Proto string `json:"proto"`
}

func hostPort(ip string, port int) string { return net.JoinHostPort(ip, strconv.Itoa(port)) }

func plain(ip string) string { return strings.TrimPrefix(ip, "::ffff:") }

// serve listens on every spec and prints "ready" once all are bound.
func serve(specsJSON string) error {
	var specs []serverSpec
	if err := json.Unmarshal([]byte(specsJSON), &specs); err != nil {
		return err
	}
	for _, s := range specs {
		s := s
		addr := hostPort(s.IP, s.Port)
		network := "4"
		if strings.Contains(s.IP, ":") {
			network = "6"
		}
		if s.Proto == "udp" {
			pc, err := net.ListenPacket("udp"+network, addr)
			if err != nil {
				return err
			}
			go func() {
				buf := make([]byte, 1500)
				for {
					_, from, err := pc.ReadFrom(buf)
					if err != nil {
						return
					}
					host, _, _ := net.SplitHostPort(from.String())
					_, _ = pc.WriteTo([]byte(fmt.Sprintf("%s %s\n", addr, plain(host))), from)
				}
			}()
			continue
		}
		ln, err := net.Listen("tcp"+network, addr)
		if err != nil {
			return err
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
				_, _ = c.Write([]byte(fmt.Sprintf("%s %s\n", addr, plain(host))))
				_ = c.Close()
			}
		}()
	}
	fmt.Println("ready")
	_ = os.Stdout.Sync()
	select {}
}
