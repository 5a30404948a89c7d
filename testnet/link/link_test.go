package link

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/convene/convene/internal/testkit"
)

// echoTCP is a TCP server that echoes every connection.
func echoTCP(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { io.Copy(c, c); c.Close() })
		}
	})
	return ln.Addr().String()
}

func relayTCP(t *testing.T, target string, cfg Config) *TCPRelay {
	t.Helper()
	r, err := ListenTCP("127.0.0.1:0", target, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// roundTrip sends data through the relay to the echo server and reads it
// back, returning how long that took.
func roundTrip(t *testing.T, r *TCPRelay, data []byte) time.Duration {
	t.Helper()
	c, err := net.Dial("tcp", r.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	errc := make(chan error, 1)
	go func() { _, err := c.Write(data); errc <- err }()
	got := make([]byte, len(data))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("the stream came back changed")
	}
	return took
}

// The delay holds each direction back: a round trip takes at least both
// delays.
func TestTCPDelay(t *testing.T) {
	const delay = 80 * time.Millisecond
	r := relayTCP(t, echoTCP(t), Config{Up: Shape{Delay: delay}, Down: Shape{Delay: delay}})
	if took := roundTrip(t, r, []byte("ping")); took < 2*delay {
		t.Fatalf("round trip in %v through a link delayed %v each way", took, delay)
	}
}

// The rate limits throughput: 64 KB at 1 Mbit/s cannot cross in under
// half a second (each way), and every byte is counted.
func TestTCPRate(t *testing.T) {
	const rate = 1_000_000
	data := make([]byte, 64<<10)
	rand.Read(data)
	r := relayTCP(t, echoTCP(t), Config{Up: Shape{Rate: rate}, Down: Shape{Rate: rate}})
	// The two directions overlap: the bound is one direction's time.
	least := time.Duration(int64(len(data)) * 8 * int64(time.Second) / rate)
	if took := roundTrip(t, r, data); took < least {
		t.Fatalf("%d B crossed a %d bit/s link in %v, want ≥ %v", len(data), rate, took, least)
	}
	// The writer counts after its write returns, which may be after the
	// reader has the bytes.
	testkit.Eventually(t, 5*time.Second, "every byte counted", func() (bool, string) {
		up, down := r.Counter().Bytes()
		return up == int64(len(data)) && down == int64(len(data)), fmt.Sprintf("%d up, %d down, want %d each", up, down, len(data))
	})
}

// Loss on a TCP link delays but never corrupts: every byte arrives, in
// order, and the stream takes at least one retransmission longer.
func TestTCPLossKeepsTheStream(t *testing.T) {
	data := make([]byte, 200<<10)
	rand.Read(data)
	const rto = 50 * time.Millisecond
	r := relayTCP(t, echoTCP(t), Config{Up: Shape{Loss: 0.3, RTO: rto}, Down: Shape{Loss: 0.3, RTO: rto}, Seed: 7})
	if took := roundTrip(t, r, data); took < rto {
		t.Fatalf("a 30%%-loss link delivered %d B in %v, less than one retransmission (%v)", len(data), took, rto)
	}
}

// Jitter never reorders a TCP stream.
func TestTCPJitterKeepsOrder(t *testing.T) {
	r := relayTCP(t, echoTCP(t), Config{Up: Shape{Jitter: 30 * time.Millisecond}, Down: Shape{Jitter: 30 * time.Millisecond}, Seed: 3})
	c, err := net.Dial("tcp", r.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var want bytes.Buffer
	for i := range 50 {
		b := []byte{byte(i), byte(i >> 8)}
		want.Write(b)
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	got := make([]byte, want.Len())
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("jitter reordered the stream")
	}
}

// echoUDP is a UDP server that echoes every datagram.
func echoUDP(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { pc.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], from)
		}
	}()
	return pc.LocalAddr().String()
}

// Loss on a UDP link drops datagrams: with 30 % each way about half the
// echoes are lost, and a delayed one comes back no sooner than both
// delays.
func TestUDPLossAndDelay(t *testing.T) {
	const delay = 20 * time.Millisecond
	r, err := ListenUDP("127.0.0.1:0", echoUDP(t), Config{Up: Shape{Loss: 0.3, Delay: delay}, Down: Shape{Loss: 0.3, Delay: delay}, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c, err := net.Dial("udp", r.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const sent = 400
	start := time.Now()
	for i := range sent {
		if _, err := c.Write([]byte{byte(i), byte(i >> 8)}); err != nil {
			t.Fatal(err)
		}
	}
	got := 0
	first := time.Duration(0)
	buf := make([]byte, 16)
	for {
		c.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := c.Read(buf); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				break
			}
			t.Fatal(err)
		}
		if got == 0 {
			first = time.Since(start)
		}
		got++
	}
	// 0.7 × 0.7 of 400 is 196; the seeded draws give a fixed count near it.
	if got < 120 || got > 280 {
		t.Fatalf("%d of %d datagrams came back through 30 %% loss each way, want about 196", got, sent)
	}
	if first < 2*delay {
		t.Fatalf("the first echo came back in %v through a link delayed %v each way", first, delay)
	}
	testkit.Eventually(t, 5*time.Second, "every datagram counted", func() (bool, string) {
		up, down := r.Counter().Bytes()
		return up > 0 && down == int64(2*got), fmt.Sprintf("%d B up, %d B down; %d echoes of 2 B arrived", up, down, got)
	})
}

func TestParseShape(t *testing.T) {
	s, err := ParseShape("rate=64k,delay=300ms,jitter=20ms,loss=30%")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Shape{Rate: 64000, Delay: 300 * time.Millisecond, Jitter: 20 * time.Millisecond, Loss: 0.3}); s != want {
		t.Fatalf("got %+v, want %+v", s, want)
	}
	if again, err := ParseShape(s.String()); err != nil || again != s {
		t.Fatalf("String does not read back: %q → %+v, %v", s.String(), again, err)
	}
	for _, bad := range []string{"loss=2", "rate=-1", "delay=soon", "speed=1", "rate"} {
		if _, err := ParseShape(bad); !errors.Is(err, ErrShape) {
			t.Errorf("ParseShape(%q): %v, want ErrShape", bad, err)
		}
	}
}
