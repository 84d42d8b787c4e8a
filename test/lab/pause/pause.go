// A stand-in for the Kubernetes pause container: the lab's sandbox image must
// hold a static binary that blocks until it is told to stop, and nothing else.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}
