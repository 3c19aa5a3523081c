// kpx-vm: the one static binary the IPVS test VM runs (no Node.js in the guest).
//
//	kpx-vm run JOB.json   orchestrate: setup script, echo servers, per scenario load the
//	                      rendered files and send probe groups; results go to stdout
//	                      (the serial console) as one JSON object per line, prefixed:
//	                      "KPX-LOAD {...}", "KPX-RESULT {...}", "KPX-DONE {...}".
//	kpx-vm serve SPECS    echo servers (run inside a pod namespace), same protocol as
//	                      test/kernel/echo-server.mjs: answer "<addr:port> <peer ip>\n".
//	kpx-vm probe          probe client, same stdin/stdout JSON as test/kernel/probe-client.mjs.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kpx-vm run JOB.json | serve SPECS_JSON | probe")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = runJob(os.Args[2])
	case "serve":
		err = serve(os.Args[2])
	case "probe":
		err = probeMain(bufio.NewReader(os.Stdin), os.Stdout)
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kpx-vm:", err)
		os.Exit(1)
	}
}

// emit prints one tagged JSON line on stdout (the serial console).
func emit(tag string, v any) {
	b, _ := json.Marshal(v)
	fmt.Printf("%s %s\n", tag, b)
}
