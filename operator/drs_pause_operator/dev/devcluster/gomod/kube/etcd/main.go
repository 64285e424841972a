// Command etcd runs the etcd server that k8s.io/kubernetes itself requires, chosen by minimal
// version selection (go install of go.etcd.io/etcd/server/v3 fails on its relative replaces).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
