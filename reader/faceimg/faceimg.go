// Package faceimg decodes the chip's JPEG 2000 images with OpenCV (gocv; Debian's OpenCV 4.6 reads
// JPEG 2000 through OpenJPEG). It is cgo, so reader/ stays pure Go: importing this package
// registers the decoder with package image, after which lds.Face.Decode (and image.Decode)
// decode JPEG 2000 portraits too. ToJPEG turns any DG2 portrait into JPEG bytes for consumers
// that take only JPEG (a browser's <img>, the desk record's photo).
package faceimg

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"io"

	"gocv.io/x/gocv"

	"enrolldesk/reader/lds"
)

func init() {
	// JP2 file format (signature box) and raw codestream (SOC, SIZ): ISO/IEC 15444-1 I.5.1, A.4.1.
	image.RegisterFormat("jpeg2000", string(lds.JP2Signature), decodeReader, decodeConfig)
	image.RegisterFormat("jpeg2000", string(lds.J2KSignature), decodeReader, decodeConfig)
}

// maxFile bounds what is read from a reader: DG2 files are tens of kilobytes.
const maxFile = 8 << 20

func readAll(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxFile+1))
	if err != nil {
		return nil, fmt.Errorf("JPEG 2000: read: %w", err)
	}
	if len(b) > maxFile {
		return nil, fmt.Errorf("JPEG 2000: larger than %d bytes", maxFile)
	}
	return b, nil
}

func decodeReader(r io.Reader) (image.Image, error) {
	b, err := readAll(r)
	if err != nil {
		return nil, err
	}
	return DecodeJPEG2000(b)
}

// decodeConfig decodes the whole image (chip portraits are small) so that the colour model is the
// one Decode will return.
func decodeConfig(r io.Reader) (image.Config, error) {
	img, err := decodeReader(r)
	if err != nil {
		return image.Config{}, err
	}
	b := img.Bounds()
	return image.Config{ColorModel: img.ColorModel(), Width: b.Dx(), Height: b.Dy()}, nil
}

// DecodeJPEG2000 decodes a JP2 file or a JPEG 2000 codestream. The header's size is checked
// (lds.JPEG2000Size, at most lds.MaxImageSide a side) before OpenJPEG sees the data, and the
// decoded image must have that size. Gray images come back as *image.Gray, colour as *image.RGBA.
func DecodeJPEG2000(b []byte) (image.Image, error) {
	w, h, err := lds.JPEG2000Size(b)
	if err != nil {
		return nil, err
	}
	m, err := gocv.IMDecode(b, gocv.IMReadUnchanged)
	if err != nil {
		return nil, fmt.Errorf("JPEG 2000: decode: %w", err)
	}
	defer m.Close()
	if m.Empty() {
		return nil, fmt.Errorf("JPEG 2000: OpenCV could not decode the image (%d bytes)", len(b))
	}
	if m.Cols() != w || m.Rows() != h {
		return nil, fmt.Errorf("JPEG 2000: decoded %d×%d, header says %d×%d", m.Cols(), m.Rows(), w, h)
	}
	if m.Type() != gocv.MatTypeCV8UC1 && m.Type() != gocv.MatTypeCV8UC3 && m.Type() != gocv.MatTypeCV8UC4 {
		// 16-bit or odd layouts (OpenJPEG keeps the precision): bring to 8-bit BGR.
		c := gocv.NewMat()
		defer c.Close()
		switch m.Channels() {
		case 1:
			m.ConvertToWithParams(&c, gocv.MatTypeCV8UC1, 1.0/256, 0)
		case 3:
			m.ConvertToWithParams(&c, gocv.MatTypeCV8UC3, 1.0/256, 0)
		default:
			return nil, fmt.Errorf("JPEG 2000: %d channels of type %v", m.Channels(), m.Type())
		}
		return toImage(c)
	}
	return toImage(m)
}

func toImage(m gocv.Mat) (image.Image, error) {
	img, err := m.ToImage()
	if err != nil {
		return nil, fmt.Errorf("JPEG 2000: to image: %w", err)
	}
	return img, nil
}

// ToJPEG returns the portrait as JPEG: the chip's own bytes when it stores JPEG, otherwise the
// decoded JPEG 2000 image encoded at quality 95.
func ToJPEG(f *lds.Face) ([]byte, error) {
	if !f.IsJPEG2000() {
		return f.Image, nil
	}
	img, err := DecodeJPEG2000(f.Image)
	if err != nil {
		return nil, fmt.Errorf("DG2: %w", err)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		return nil, fmt.Errorf("DG2: encode JPEG: %w", err)
	}
	return buf.Bytes(), nil
}
