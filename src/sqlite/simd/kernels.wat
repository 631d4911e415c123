;; vecfill scan kernels: WebAssembly SIMD128, one memory shared with the
;; JavaScript side (and with worker threads). Every pointer is a byte offset.
;; scripts/build-wasm.mjs assembles this file into kernels-wasm.ts.
;;
;; Rows are laid out at a fixed stride, padded with zeros:
;;   f32: `stride` floats, a multiple of 4;
;;   i8 and binary: `stride` bytes, a multiple of 16.
;; The scalar fallback in kernels.ts computes exactly the same numbers (the
;; float kernel's summation order included); a property test holds them equal.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; Dot product of one f32 row with the query: four 4-lane accumulators over
  ;; blocks of 16 floats, then single 4-float steps into the first; summed as
  ;; (a0 + a1) + (a2 + a3), then lanes (l0 + l1) + (l2 + l3).
  (func $f32_row (param $q i32) (param $r i32) (param $stride i32) (result f32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $end i32) (local $end16 i32) (local $qq i32)
    (local.set $end (i32.add (local.get $r) (i32.shl (local.get $stride) (i32.const 2))))
    (local.set $end16 (i32.sub (local.get $end) (i32.const 64)))
    (local.set $qq (local.get $q))
    (block $done16
      (loop $blocks
        (br_if $done16 (i32.gt_u (local.get $r) (local.get $end16)))
        (local.set $a0 (f32x4.add (local.get $a0)
          (f32x4.mul (v128.load (local.get $r)) (v128.load (local.get $qq)))))
        (local.set $a1 (f32x4.add (local.get $a1)
          (f32x4.mul (v128.load offset=16 (local.get $r)) (v128.load offset=16 (local.get $qq)))))
        (local.set $a2 (f32x4.add (local.get $a2)
          (f32x4.mul (v128.load offset=32 (local.get $r)) (v128.load offset=32 (local.get $qq)))))
        (local.set $a3 (f32x4.add (local.get $a3)
          (f32x4.mul (v128.load offset=48 (local.get $r)) (v128.load offset=48 (local.get $qq)))))
        (local.set $r (i32.add (local.get $r) (i32.const 64)))
        (local.set $qq (i32.add (local.get $qq) (i32.const 64)))
        (br $blocks)))
    (block $done4
      (loop $steps
        (br_if $done4 (i32.ge_u (local.get $r) (local.get $end)))
        (local.set $a0 (f32x4.add (local.get $a0)
          (f32x4.mul (v128.load (local.get $r)) (v128.load (local.get $qq)))))
        (local.set $r (i32.add (local.get $r) (i32.const 16)))
        (local.set $qq (i32.add (local.get $qq) (i32.const 16)))
        (br $steps)))
    (local.set $a0 (f32x4.add
      (f32x4.add (local.get $a0) (local.get $a1))
      (f32x4.add (local.get $a2) (local.get $a3))))
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $a0)) (f32x4.extract_lane 1 (local.get $a0)))
      (f32.add (f32x4.extract_lane 2 (local.get $a0)) (f32x4.extract_lane 3 (local.get $a0)))))

  ;; Dot product of one int8 row with the query held as int16 (same stride in
  ;; elements): each 16 bytes are widened to two i16x8 halves and multiplied
  ;; pairwise into i32 lanes. Exact integer arithmetic.
  (func $i8_row (param $q i32) (param $r i32) (param $stride i32) (result i32)
    (local $acc v128) (local $v v128) (local $end i32) (local $qq i32)
    (local.set $end (i32.add (local.get $r) (local.get $stride)))
    (local.set $qq (local.get $q))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $r) (local.get $end)))
        (local.set $v (v128.load (local.get $r)))
        (local.set $acc (i32x4.add (local.get $acc)
          (i32x4.add
            (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $v)) (v128.load (local.get $qq)))
            (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $v)) (v128.load offset=16 (local.get $qq))))))
        (local.set $r (i32.add (local.get $r) (i32.const 16)))
        (local.set $qq (i32.add (local.get $qq) (i32.const 32)))
        (br $blocks)))
    (i32.add
      (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
      (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc)))))

  ;; Hamming distance of one binary row to the query code.
  (func $bin_row (param $q i32) (param $r i32) (param $stride i32) (result i32)
    (local $acc v128) (local $end i32) (local $qq i32)
    (local.set $end (i32.add (local.get $r) (local.get $stride)))
    (local.set $qq (local.get $q))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $r) (local.get $end)))
        (local.set $acc (i16x8.add (local.get $acc)
          (i16x8.extadd_pairwise_i8x16_u
            (i8x16.popcnt (v128.xor (v128.load (local.get $r)) (v128.load (local.get $qq)))))))
        (local.set $r (i32.add (local.get $r) (i32.const 16)))
        (local.set $qq (i32.add (local.get $qq) (i32.const 16)))
        (br $blocks)))
    (local.set $acc (i32x4.extadd_pairwise_i16x8_u (local.get $acc)))
    (i32.add
      (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
      (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc)))))

  ;; Scores of rows [from, to) into out[from..to), 4 bytes each. `rowBytes`
  ;; is the stride in bytes (f32: stride × 4).

  (func (export "f32_range") (param $q i32) (param $base i32) (param $stride i32)
      (param $from i32) (param $to i32) (param $out i32)
    (local $r i32) (local $o i32) (local $rowBytes i32) (local $i i32)
    (local.set $rowBytes (i32.shl (local.get $stride) (i32.const 2)))
    (local.set $i (local.get $from))
    (local.set $r (i32.add (local.get $base) (i32.mul (local.get $from) (local.get $rowBytes))))
    (local.set $o (i32.add (local.get $out) (i32.shl (local.get $from) (i32.const 2))))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $i) (local.get $to)))
        (f32.store (local.get $o) (call $f32_row (local.get $q) (local.get $r) (local.get $stride)))
        (local.set $r (i32.add (local.get $r) (local.get $rowBytes)))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  (func (export "i8_range") (param $q i32) (param $base i32) (param $stride i32)
      (param $from i32) (param $to i32) (param $out i32)
    (local $r i32) (local $o i32) (local $i i32)
    (local.set $i (local.get $from))
    (local.set $r (i32.add (local.get $base) (i32.mul (local.get $from) (local.get $stride))))
    (local.set $o (i32.add (local.get $out) (i32.shl (local.get $from) (i32.const 2))))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $i) (local.get $to)))
        (i32.store (local.get $o) (call $i8_row (local.get $q) (local.get $r) (local.get $stride)))
        (local.set $r (i32.add (local.get $r) (local.get $stride)))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  (func (export "bin_range") (param $q i32) (param $base i32) (param $stride i32)
      (param $from i32) (param $to i32) (param $out i32)
    (local $r i32) (local $o i32) (local $i i32)
    (local.set $i (local.get $from))
    (local.set $r (i32.add (local.get $base) (i32.mul (local.get $from) (local.get $stride))))
    (local.set $o (i32.add (local.get $out) (i32.shl (local.get $from) (i32.const 2))))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $i) (local.get $to)))
        (i32.store (local.get $o) (call $bin_row (local.get $q) (local.get $r) (local.get $stride)))
        (local.set $r (i32.add (local.get $r) (local.get $stride)))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; Scores of the `m` rows whose slot numbers (i32) are at `slots`, into
  ;; out[0..m): the filtered search scores only the matching rows.

  (func (export "f32_slots") (param $q i32) (param $base i32) (param $stride i32)
      (param $slots i32) (param $m i32) (param $out i32)
    (local $end i32) (local $rowBytes i32)
    (local.set $rowBytes (i32.shl (local.get $stride) (i32.const 2)))
    (local.set $end (i32.add (local.get $slots) (i32.shl (local.get $m) (i32.const 2))))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $slots) (local.get $end)))
        (f32.store (local.get $out) (call $f32_row (local.get $q)
          (i32.add (local.get $base) (i32.mul (i32.load (local.get $slots)) (local.get $rowBytes)))
          (local.get $stride)))
        (local.set $slots (i32.add (local.get $slots) (i32.const 4)))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (br $rows))))

  (func (export "i8_slots") (param $q i32) (param $base i32) (param $stride i32)
      (param $slots i32) (param $m i32) (param $out i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $slots) (i32.shl (local.get $m) (i32.const 2))))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $slots) (local.get $end)))
        (i32.store (local.get $out) (call $i8_row (local.get $q)
          (i32.add (local.get $base) (i32.mul (i32.load (local.get $slots)) (local.get $stride)))
          (local.get $stride)))
        (local.set $slots (i32.add (local.get $slots) (i32.const 4)))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (br $rows))))

  (func (export "bin_slots") (param $q i32) (param $base i32) (param $stride i32)
      (param $slots i32) (param $m i32) (param $out i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $slots) (i32.shl (local.get $m) (i32.const 2))))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $slots) (local.get $end)))
        (i32.store (local.get $out) (call $bin_row (local.get $q)
          (i32.add (local.get $base) (i32.mul (i32.load (local.get $slots)) (local.get $stride)))
          (local.get $stride)))
        (local.set $slots (i32.add (local.get $slots) (i32.const 4)))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (br $rows))))

;; Encoding rows for the index (a load, or a batch of changes): `n` packed
  ;; float32 rows of `d` components at `src` become rows of `stride`
  ;; elements at `dst`, zero-padded. Bit for bit what codes.ts `encodeRow`
  ;; computes in JavaScript: each squared norm is summed in f64 in the order
  ;; `sumOfSquares` fixes (a different order could change an int8 row's
  ;; factor in its last bit), and each component is scaled in f64 and
  ;; rounded the way JavaScript rounds it.

  ;; Sum of squares of row `r`'s `d` components in f64, the way
  ;; `sumOfSquares` in codes.ts adds them: component j into lane j mod 4,
  ;; each lane in order, then (s0 + s1) + (s2 + s3). (Each square of an
  ;; f32 is exact in f64; only the order of the sums matters. One running
  ;; sum was a chain of d dependent adds: 1,000 int8 rows × 384 took 1.1 ms.)
  (func $sumsq (param $r i32) (param $d i32) (result f64)
    (local $j i32) (local $v v128) (local $lo v128) (local $hi v128)
    (local $a v128) (local $b v128) (local $s0 f64) (local $s1 f64) (local $s2 f64) (local $x f64)
    (block $done4
      (loop $blocks
        (br_if $done4 (i32.gt_s (i32.add (local.get $j) (i32.const 4)) (local.get $d)))
        (local.set $v (v128.load (local.get $r)))
        (local.set $lo (f64x2.promote_low_f32x4 (local.get $v)))
        (local.set $hi (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v))))
        (local.set $a (f64x2.add (local.get $a) (f64x2.mul (local.get $lo) (local.get $lo))))
        (local.set $b (f64x2.add (local.get $b) (f64x2.mul (local.get $hi) (local.get $hi))))
        (local.set $r (i32.add (local.get $r) (i32.const 16)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $blocks)))
    (local.set $s0 (f64x2.extract_lane 0 (local.get $a)))
    (local.set $s1 (f64x2.extract_lane 1 (local.get $a)))
    (local.set $s2 (f64x2.extract_lane 0 (local.get $b)))
    ;; The last d mod 4 components go to lanes 0, 1, 2.
    (if (i32.lt_s (local.get $j) (local.get $d))
      (then
        (local.set $x (f64.promote_f32 (f32.load (local.get $r))))
        (local.set $s0 (f64.add (local.get $s0) (f64.mul (local.get $x) (local.get $x))))))
    (if (i32.lt_s (i32.add (local.get $j) (i32.const 1)) (local.get $d))
      (then
        (local.set $x (f64.promote_f32 (f32.load offset=4 (local.get $r))))
        (local.set $s1 (f64.add (local.get $s1) (f64.mul (local.get $x) (local.get $x))))))
    (if (i32.lt_s (i32.add (local.get $j) (i32.const 2)) (local.get $d))
      (then
        (local.set $x (f64.promote_f32 (f32.load offset=8 (local.get $r))))
        (local.set $s2 (f64.add (local.get $s2) (f64.mul (local.get $x) (local.get $x))))))
    (f64.add
      (f64.add (local.get $s0) (local.get $s1))
      (f64.add (local.get $s2) (f64x2.extract_lane 1 (local.get $b)))))

  ;; Largest |component| of row `r` (exact in any order).
  (func $absmax (param $r i32) (param $d i32) (result f32)
    (local $m v128) (local $end i32) (local $max f32)
    (local.set $end (i32.add (local.get $r) (i32.shl (local.get $d) (i32.const 2))))
    (block $done4
      (loop $blocks
        (br_if $done4 (i32.gt_u (i32.add (local.get $r) (i32.const 16)) (local.get $end)))
        (local.set $m (f32x4.max (local.get $m) (f32x4.abs (v128.load (local.get $r)))))
        (local.set $r (i32.add (local.get $r) (i32.const 16)))
        (br $blocks)))
    (local.set $max (f32.max
      (f32.max (f32x4.extract_lane 0 (local.get $m)) (f32x4.extract_lane 1 (local.get $m)))
      (f32.max (f32x4.extract_lane 2 (local.get $m)) (f32x4.extract_lane 3 (local.get $m)))))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $r) (local.get $end)))
        (local.set $max (f32.max (local.get $max) (f32.abs (f32.load (local.get $r)))))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (br $each)))
    (local.get $max))

  ;; Math.round (halves up) of one f64: floor(y), plus 1 where
  ;; y − floor(y) ≥ 0.5 (that difference is exact for |y| < 2^52).
  (func $round1 (param $y f64) (result f64)
    (local $f f64)
    (local.set $f (f64.floor (local.get $y)))
    (select
      (f64.add (local.get $f) (f64.const 1))
      (local.get $f)
      (f64.ge (f64.sub (local.get $y) (local.get $f)) (f64.const 0.5))))

  ;; Zero bytes [at, end).
  (func $zero (param $at i32) (param $end i32)
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (i32.store8 (local.get $at) (i32.const 0))
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (br $each))))

  ;; One float32 row: the row times 1 / its norm (1 for a zero row), each
  ;; product rounded to f32; `nn` is its sum of squares.
  (func $f32_put (param $r i32) (param $d i32) (param $o i32) (param $stride i32) (param $nn f64)
    (local $j i32) (local $end i32) (local $inv f64) (local $s v128) (local $v v128) (local $norm f64)
    (local.set $end (i32.add (local.get $o) (i32.shl (local.get $stride) (i32.const 2))))
    (local.set $norm (f64.sqrt (local.get $nn)))
    (local.set $inv (f64.div (f64.const 1)
      (select (local.get $norm) (f64.const 1) (f64.ne (local.get $norm) (f64.const 0)))))
    (local.set $s (f64x2.splat (local.get $inv)))
    (block $done4
      (loop $blocks
        (br_if $done4 (i32.gt_s (i32.add (local.get $j) (i32.const 4)) (local.get $d)))
        (local.set $v (v128.load (local.get $r)))
        (v128.store (local.get $o)
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
            (f32x4.demote_f64x2_zero (f64x2.mul (f64x2.promote_low_f32x4 (local.get $v)) (local.get $s)))
            (f32x4.demote_f64x2_zero (f64x2.mul
              (f64x2.promote_low_f32x4
                (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))
              (local.get $s)))))
        (local.set $r (i32.add (local.get $r) (i32.const 16)))
        (local.set $o (i32.add (local.get $o) (i32.const 16)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $blocks)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $j) (local.get $d)))
        (f32.store (local.get $o)
          (f32.demote_f64 (f64.mul (f64.promote_f32 (f32.load (local.get $r))) (local.get $inv))))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $each)))
    (call $zero (local.get $o) (local.get $end)))

  ;; One int8 row: each component times 127 / the row's largest |component|,
  ;; rounded halves up; its factor, max / norm / 127 (0 for a zero row), as
  ;; f32 at `factor`; `nn` is its sum of squares.
  (func $i8_put (param $r i32) (param $d i32) (param $o i32) (param $stride i32)
      (param $factor i32) (param $nn f64)
    (local $j i32) (local $end i32) (local $scale f64) (local $norm f64) (local $max f64)
    (local $s v128) (local $v v128) (local $lo v128) (local $hi v128) (local $f v128)
    (local $half v128) (local $one v128) (local $magic v128)
    (local.set $end (i32.add (local.get $o) (local.get $stride)))
    (local.set $half (f64x2.splat (f64.const 0.5)))
    (local.set $one (f64x2.splat (f64.const 1)))
    (local.set $magic (f64x2.splat (f64.const 0x1.8p52)))
    (local.set $norm (f64.sqrt (local.get $nn)))
    (local.set $norm (select (local.get $norm) (f64.const 1) (f64.ne (local.get $norm) (f64.const 0))))
    (local.set $max (f64.promote_f32 (call $absmax (local.get $r) (local.get $d))))
    (local.set $scale (select
      (f64.div (f64.const 127) (local.get $max)) (f64.const 0)
      (f64.gt (local.get $max) (f64.const 0))))
    (f32.store (local.get $factor) (select
      (f32.demote_f64 (f64.div (f64.div (local.get $max) (local.get $norm)) (f64.const 127)))
      (f32.const 0)
      (f64.gt (local.get $max) (f64.const 0))))
    (local.set $s (f64x2.splat (local.get $scale)))
    (block $done4
      (loop $blocks
        (br_if $done4 (i32.gt_s (i32.add (local.get $j) (i32.const 4)) (local.get $d)))
        (local.set $v (v128.load (local.get $r)))
        ;; Four components as f64 (two lanes each in $lo, $hi), scaled,
        ;; rounded as $round1 does, then + 2^52 + 2^51: each lane's lowest
        ;; byte is then its code (two's complement).
        (local.set $lo (f64x2.mul (f64x2.promote_low_f32x4 (local.get $v)) (local.get $s)))
        (local.set $hi (f64x2.mul
          (f64x2.promote_low_f32x4
            (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))
          (local.get $s)))
        (local.set $f (f64x2.floor (local.get $lo)))
        (local.set $lo (f64x2.add (f64x2.add (local.get $f) (local.get $magic))
          (v128.and (f64x2.ge (f64x2.sub (local.get $lo) (local.get $f)) (local.get $half))
            (local.get $one))))
        (local.set $f (f64x2.floor (local.get $hi)))
        (local.set $hi (f64x2.add (f64x2.add (local.get $f) (local.get $magic))
          (v128.and (f64x2.ge (f64x2.sub (local.get $hi) (local.get $f)) (local.get $half))
            (local.get $one))))
        (i32.store (local.get $o) (i32x4.extract_lane 0
          (i8x16.shuffle 0 8 16 24 0 0 0 0 0 0 0 0 0 0 0 0 (local.get $lo) (local.get $hi))))
        (local.set $r (i32.add (local.get $r) (i32.const 16)))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $blocks)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $j) (local.get $d)))
        (i32.store8 (local.get $o) (i32.trunc_sat_f64_s (call $round1
          (f64.mul (f64.promote_f32 (f32.load (local.get $r))) (local.get $scale)))))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (local.set $o (i32.add (local.get $o) (i32.const 1)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $each)))
    (call $zero (local.get $o) (local.get $end)))

  ;; float32 rows, `stride` floats each.
  (func (export "f32_encode") (param $src i32) (param $n i32) (param $d i32)
      (param $dst i32) (param $stride i32)
    (local $i i32) (local $row i32) (local $out i32)
    (local.set $row (i32.shl (local.get $d) (i32.const 2)))
    (local.set $out (i32.shl (local.get $stride) (i32.const 2)))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $f32_put (local.get $src) (local.get $d) (local.get $dst) (local.get $stride)
          (call $sumsq (local.get $src) (local.get $d)))
        (local.set $src (i32.add (local.get $src) (local.get $row)))
        (local.set $dst (i32.add (local.get $dst) (local.get $out)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; int8 rows, `stride` bytes each; row i's factor as f32 at factors + 4i.
  (func (export "i8_encode") (param $src i32) (param $n i32) (param $d i32)
      (param $dst i32) (param $stride i32) (param $factors i32)
    (local $i i32) (local $row i32)
    (local.set $row (i32.shl (local.get $d) (i32.const 2)))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $i8_put (local.get $src) (local.get $d) (local.get $dst) (local.get $stride) (local.get $factors)
          (call $sumsq (local.get $src) (local.get $d)))
        (local.set $src (i32.add (local.get $src) (local.get $row)))
        (local.set $dst (i32.add (local.get $dst) (local.get $stride)))
        (local.set $factors (i32.add (local.get $factors) (i32.const 4)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))
)
