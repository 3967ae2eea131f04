package face

import (
	"image"

	"gocv.io/x/gocv"
)

func imageRect(m gocv.Mat) image.Rectangle { return image.Rect(0, 0, m.Cols(), m.Rows()) }
