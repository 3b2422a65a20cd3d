// etcd-put: the load generator scripts/bench-records.sh runs against etcd,
// modelled on etcd's own `benchmark put` (tools/benchmark, which Debian's
// golang-etcd-server-dev does not ship): --conns gRPC connections shared
// round robin by --clients goroutines, each doing one Put at a time, so
// conns x (clients/conns) requests are in flight, like minga's
// --connections x --inflight. Each Put is acknowledged by etcd after its
// raft entry is committed (fsynced by a quorum) and applied.
//
// --count N instead puts N distinct keys (PREFIX00000000 ...) once each, with
// random values, from the start (no warm-up), and ends when all are
// acknowledged (scripts/bench-files.sh: the same values as minga's files).
//
// Built offline from Debian's etcd client sources (GOPATH=/usr/share/gocode,
// GO111MODULE=off); prints one JSON line.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/clientv3"
)

type result struct {
	Conns      int            `json:"conns"`
	Clients    int            `json:"clients"`
	ValSize    int            `json:"val_size"`
	DurationS  float64        `json:"duration_s"`
	Writes     int            `json:"writes"`
	Errors     int            `json:"errors"`
	ErrorsBy   map[string]int `json:"errors_by_code"`
	WritesPerS float64        `json:"writes_per_s"`
	P50us      float64        `json:"p50_us"`
	P99us      float64        `json:"p99_us"`
	P999us     float64        `json:"p999_us"`
}

func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p/100*float64(len(sorted)-1) + 0.5)
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

func main() {
	endpoints := flag.String("endpoints", "127.0.0.1:2379", "comma-separated client URLs or host:port")
	conns := flag.Int("conns", 4, "gRPC connections")
	clients := flag.Int("clients", 64, "concurrent Put calls (goroutines), spread over the connections")
	valSize := flag.Int("val-size", 64, "bytes per value")
	keySpace := flag.Int("key-space-size", 100000, "keys are key-00000000 ... modulo this")
	duration := flag.Float64("duration", 10, "seconds to measure, after the warm-up")
	warmup := flag.Float64("warmup", 1, "seconds of load before measuring")
	count := flag.Int64("count", 0, "put this many distinct keys once each (random values), then stop; no warm-up")
	keyPrefix := flag.String("key-prefix", "file-", "with --count: the keys' prefix")
	flag.Parse()
	if *conns < 1 || *clients < 1 || *valSize < 1 || *keySpace < 1 || *duration <= 0 {
		fmt.Fprintln(os.Stderr, "etcd-put: bad arguments")
		os.Exit(2)
	}

	eps := strings.Split(*endpoints, ",")
	cs := make([]*clientv3.Client, *conns)
	for i := range cs {
		// One endpoint per connection, round robin, like minga's connections.
		c, err := clientv3.New(clientv3.Config{Endpoints: []string{eps[i%len(eps)]}, DialTimeout: 5 * time.Second})
		if err != nil {
			fmt.Fprintln(os.Stderr, "etcd-put: connect:", err)
			os.Exit(3)
		}
		defer c.Close()
		cs[i] = c
	}
	value := strings.Repeat("x", *valSize)
	var next int64
	if *count > 0 {
		*warmup = 0
		*duration = 1e9
	}

	start := time.Now()
	measureFrom := start.Add(time.Duration(*warmup * float64(time.Second)))
	stopAt := measureFrom.Add(time.Duration(*duration * float64(time.Second)))
	var mu sync.Mutex
	var lat []float64
	errorsBy := map[string]int{}
	var last time.Time
	var wg sync.WaitGroup
	for g := 0; g < *clients; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			c := cs[g%len(cs)]
			var mine []float64
			mineErr := map[string]int{}
			var mineLast time.Time
			rng := rand.New(rand.NewSource(time.Now().UnixNano() + int64(g)))
			mineValue := value
			for n := 0; ; n++ {
				key := ""
				if *count > 0 {
					i := atomic.AddInt64(&next, 1) - 1
					if i >= *count {
						break
					}
					key = fmt.Sprintf("%s%08d", *keyPrefix, i)
					b := make([]byte, *valSize)
					rng.Read(b)
					mineValue = string(b)
				}
				t0 := time.Now()
				if !t0.Before(stopAt) {
					break
				}
				if *count == 0 {
					key = fmt.Sprintf("key-%08d", (g*1000003+n)%*keySpace)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err := c.Put(ctx, key, mineValue)
				cancel()
				t1 := time.Now()
				if t0.Before(measureFrom) {
					continue
				}
				if err != nil {
					mineErr[err.Error()]++
					time.Sleep(10 * time.Millisecond)
					continue
				}
				mine = append(mine, float64(t1.Sub(t0).Microseconds()))
				mineLast = t1
			}
			mu.Lock()
			lat = append(lat, mine...)
			for k, v := range mineErr {
				errorsBy[k] += v
			}
			if mineLast.After(last) {
				last = mineLast
			}
			mu.Unlock()
		}(g)
	}
	wg.Wait()
	sort.Float64s(lat)
	if last.Before(stopAt) && *count == 0 {
		last = stopAt
	}
	d := last.Sub(measureFrom).Seconds()
	errs := 0
	for _, v := range errorsBy {
		errs += v
	}
	r := result{Conns: *conns, Clients: *clients, ValSize: *valSize, DurationS: d, Writes: len(lat), Errors: errs,
		ErrorsBy: errorsBy, WritesPerS: float64(len(lat)) / d, P50us: percentile(lat, 50), P99us: percentile(lat, 99),
		P999us: percentile(lat, 99.9)}
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
	if len(lat) == 0 {
		os.Exit(1)
	}
}
