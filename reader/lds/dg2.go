package lds

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"

	"enrolldesk/reader/tlv"
)

// Face is one facial image of DG2 (ISO/IEC 19794-5:2005 inside a CBEFF biometric information template,
// ICAO Doc 9303 part 10 §4.7.2).
type Face struct {
	Gender, EyeColour, HairColour byte
	Expression                    uint16
	ImageType                     byte // 19794-5 §5.7.1: 0 basic, 1 full frontal, 2 token frontal
	ImageDataType                 byte // 0 JPEG, 1 JPEG 2000
	Width, Height                 int
	// Image is the encoded image exactly as stored on the chip.
	Image []byte
}

// Image data types of ISO/IEC 19794-5 §5.7.2.
const (
	ImageJPEG     byte = 0
	ImageJPEG2000 byte = 1
)

// MIME returns the image's media type.
func (f *Face) MIME() string {
	if f.ImageDataType == ImageJPEG2000 {
		return "image/jp2"
	}
	return "image/jpeg"
}

// ErrJPEG2000 is returned by Decode for JPEG 2000 faces when no JPEG 2000 decoder is registered
// with package image (import enrolldesk/reader/faceimg, which registers OpenCV's); the raw image
// stays available in Face.Image.
var ErrJPEG2000 = errors.New("DG2: JPEG 2000 face image (no JPEG 2000 decoder registered)")

// IsJPEG2000 reports whether the image is JPEG 2000 (by its data type or its signature).
func (f *Face) IsJPEG2000() bool {
	return f.ImageDataType == ImageJPEG2000 || IsJPEG2000(f.Image)
}

// Decode decodes the face image. JPEG is decoded here; JPEG 2000 through the decoder registered
// with package image (reader/faceimg), after its header has announced a sane size.
func (f *Face) Decode() (image.Image, error) {
	if f.IsJPEG2000() {
		if _, _, err := JPEG2000Size(f.Image); err != nil {
			return nil, fmt.Errorf("DG2: %w", err)
		}
		img, _, err := image.Decode(bytes.NewReader(f.Image))
		if errors.Is(err, image.ErrFormat) {
			return nil, ErrJPEG2000
		}
		if err != nil {
			return nil, fmt.Errorf("DG2: decode JPEG 2000: %w", err)
		}
		return img, nil
	}
	img, err := jpeg.Decode(bytes.NewReader(f.Image))
	if err != nil {
		return nil, fmt.Errorf("DG2: decode JPEG: %w", err)
	}
	return img, nil
}

// biometricTemplates unwraps a biometric data group (DG2, DG3: ICAO 9303-10 §4.7.2) down to its
// biometric information templates (7F60) inside the group template (7F61).
func biometricTemplates(b []byte, dgTag uint32, dg string) ([]tlv.Object, error) {
	v, err := tlv.Unwrap(b, dgTag)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dg, err)
	}
	group, err := tlv.Unwrap(v, 0x7F61) // biometric information group template
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dg, err)
	}
	objs, err := tlv.ParseAll(group)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dg, err)
	}
	var bits []tlv.Object
	for _, o := range objs {
		if o.Tag == 0x7F60 {
			bits = append(bits, o)
		}
	}
	return bits, nil
}

// ParseDG2 decodes DG2 and returns its faces (usually one).
func ParseDG2(b []byte) ([]Face, error) {
	objs, err := biometricTemplates(b, 0x75, "DG2")
	if err != nil {
		return nil, err
	}
	var faces []Face
	for _, o := range objs {
		bit, err := tlv.ParseAll(o.Value)
		if err != nil {
			return nil, fmt.Errorf("DG2: biometric information template: %w", err)
		}
		for _, e := range bit {
			if e.Tag != 0x5F2E && e.Tag != 0x7F2E { // biometric data block (plain or enciphered)
				continue
			}
			fs, err := parse19794_5(e.Value)
			if err != nil {
				return nil, err
			}
			faces = append(faces, fs...)
		}
	}
	if len(faces) == 0 {
		return nil, errors.New("DG2: no facial image")
	}
	return faces, nil
}

// parse19794_5 decodes an ISO/IEC 19794-5:2005 facial record (§5.4–5.8).
func parse19794_5(b []byte) ([]Face, error) {
	if len(b) < 14 || !bytes.Equal(b[:4], []byte("FAC\x00")) {
		return nil, errors.New("DG2: not an ISO/IEC 19794-5 record (FAC)")
	}
	recLen := binary.BigEndian.Uint32(b[8:12])
	if uint64(recLen) > uint64(len(b)) || recLen < 14 {
		return nil, fmt.Errorf("DG2: record length %d, have %d bytes", recLen, len(b))
	}
	n := int(binary.BigEndian.Uint16(b[12:14]))
	rest := b[14:recLen]
	var faces []Face
	for i := 0; i < n; i++ {
		if len(rest) < 20 {
			return nil, errors.New("DG2: facial information block truncated")
		}
		blockLen := binary.BigEndian.Uint32(rest[0:4])
		if uint64(blockLen) > uint64(len(rest)) || blockLen < 32 {
			return nil, fmt.Errorf("DG2: facial block length %d, have %d", blockLen, len(rest))
		}
		blk := rest[:blockLen]
		points := int(binary.BigEndian.Uint16(blk[4:6]))
		f := Face{Gender: blk[6], EyeColour: blk[7], HairColour: blk[8], Expression: binary.BigEndian.Uint16(blk[12:14])}
		off := 20 + 8*points
		if off+12 > len(blk) {
			return nil, errors.New("DG2: image information truncated")
		}
		ii := blk[off : off+12]
		f.ImageType, f.ImageDataType = ii[0], ii[1]
		f.Width, f.Height = int(binary.BigEndian.Uint16(ii[2:4])), int(binary.BigEndian.Uint16(ii[4:6]))
		f.Image = blk[off+12:]
		if len(f.Image) == 0 {
			return nil, errors.New("DG2: empty image")
		}
		faces = append(faces, f)
		rest = rest[blockLen:]
	}
	if len(faces) == 0 {
		return nil, errors.New("DG2: facial record holds no image")
	}
	return faces, nil
}

// DG2Bytes builds DG2 with one face image (JPEG or JPEG 2000) of the given size.
func DG2Bytes(img []byte, dataType byte, width, height int) []byte {
	rec := new(bytes.Buffer)
	blockLen := 20 + 12 + len(img)
	rec.WriteString("FAC\x00010\x00")
	_ = binary.Write(rec, binary.BigEndian, uint32(14+blockLen))
	_ = binary.Write(rec, binary.BigEndian, uint16(1))
	_ = binary.Write(rec, binary.BigEndian, uint32(blockLen))
	rec.Write([]byte{0, 0}) // feature points
	rec.Write([]byte{0, 0, 0})
	rec.Write([]byte{0, 0, 0})          // property mask
	rec.Write([]byte{0, 0})             // expression unspecified
	rec.Write([]byte{0, 0, 0, 0, 0, 0}) // pose angles and uncertainty
	rec.Write([]byte{1, dataType})      // full frontal; JPEG or JPEG 2000
	_ = binary.Write(rec, binary.BigEndian, uint16(width))
	_ = binary.Write(rec, binary.BigEndian, uint16(height))
	rec.Write([]byte{1, 2, 0, 0, 0, 0}) // sRGB, digital camera, device, quality
	rec.Write(img)
	header := tlv.Concat(
		tlv.Encode(0x80, []byte{0x01, 0x01}), // CBEFF patron header version 1.1
		tlv.Encode(0x81, []byte{0x02}),       // biometric type: facial features
		tlv.Encode(0x87, []byte{0x01, 0x01}), // format owner: ISO/IEC JTC 1/SC 37
		tlv.Encode(0x88, []byte{0x00, 0x08}), // format type: face image (19794-5)
	)
	bit := tlv.Encode(0x7F60, tlv.Concat(tlv.Encode(0xA1, header), tlv.Encode(0x5F2E, rec.Bytes())))
	return tlv.Encode(0x75, tlv.Encode(0x7F61, tlv.Concat(tlv.Encode(0x02, []byte{1}), bit)))
}
