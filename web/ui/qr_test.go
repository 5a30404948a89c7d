package ui

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// decodeQR reads the text a QR code image carries, as a phone would.
func decodeQR(t *testing.T, data []byte) string {
	t.Helper()
	text, err := readQR(data)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// readQR reads the QR code of a PNG.
func readQR(data []byte) (string, error) {
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return "", fmt.Errorf("not a PNG: %w", err)
	}
	return readQRImage(img)
}

func readQRImage(img image.Image) (string, error) {
	// A quiet zone around the code, as the page's white margin gives a
	// camera: a capture cropped to the image may have too little.
	b := img.Bounds()
	pad := image.NewGray(image.Rect(0, 0, b.Dx()+80, b.Dy()+80))
	draw.Draw(pad, pad.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(pad, b.Sub(b.Min).Add(image.Pt(40, 40)), img, b.Min, draw.Src)
	bmp, err := gozxing.NewBinaryBitmapFromImage(pad)
	if err != nil {
		return "", err
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		return "", fmt.Errorf("decoding the QR code: %w", err)
	}
	return res.GetText(), nil
}

// TestJoinQR: the projection's code opens that session's live projection
// on the public address; a malformed session id gets no code.
func TestJoinQR(t *testing.T) {
	h := newTestHandler(t, Config{JoinURL: func() string { return "http://192.0.2.1:7778/" }})
	sid := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		query string
		code  int
		want  string
	}{
		{"for=join&s=" + sid, 200, "http://192.0.2.1:7778/s/" + sid + "/projection"},
		{"for=join", 200, "http://192.0.2.1:7778/"},
		{"for=join&s=..%2Fnetwork", 404, ""},
		{"for=join&s=a%20b", 404, ""},
		{"for=invite&s=" + sid, 404, ""},
	} {
		rec := get(t, h, "/qr.png?"+tc.query, nil)
		if rec.Code != tc.code {
			t.Errorf("%s: status %d, want %d", tc.query, rec.Code, tc.code)
			continue
		}
		if tc.code == 200 {
			if got := decodeQR(t, rec.Body.Bytes()); got != tc.want {
				t.Errorf("%s: the code says %q, want %q", tc.query, got, tc.want)
			}
		}
	}
	// The projection page points its image at its own session's code.
	rec := get(t, h, "/s/"+sid+"/projection", nil)
	if !strings.Contains(rec.Body.String(), `src="/qr.png?for=join&amp;s=`+sid+`"`) {
		t.Errorf("the projection does not show its session's code:\n%s", rec.Body.String())
	}
}
