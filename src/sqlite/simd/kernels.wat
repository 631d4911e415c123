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
)
