// Command kube is a multi-call binary of the Kubernetes control plane that the tests and the demo run:
// kube-apiserver, kube-scheduler and kube-controller-manager of one release, and the etcd server that
// release is tested with. One binary keeps the build to one link step.
package main

import (
	"fmt"
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kube apiserver|scheduler|controller-manager|etcd [flags]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "apiserver":
		command := apiserver.NewAPIServerCommand()
		command.SetArgs(os.Args[2:])
		os.Exit(cli.Run(command))
	case "scheduler":
		command := scheduler.NewSchedulerCommand()
		command.SetArgs(os.Args[2:])
		os.Exit(cli.Run(command))
	case "controller-manager":
		command := controllermanager.NewControllerManagerCommand()
		command.SetArgs(os.Args[2:])
		os.Exit(cli.Run(command))
	case "etcd":
		etcdmain.Main(append([]string{"etcd"}, os.Args[2:]...))
	default:
		fmt.Fprintf(os.Stderr, "kube: unknown component %q (apiserver, scheduler, controller-manager, etcd)\n", os.Args[1])
		os.Exit(2)
	}
}
