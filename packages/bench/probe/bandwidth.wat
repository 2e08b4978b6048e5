;; Memory-bandwidth probes for adamw-bench, in the same process as the optimizer.
;; Assembled by packages/bench/scripts/build-probe.mjs into src/peers/bandwidth-module.generated.ts.
;;
;; stream(p, g, m, v, bytes): AdamW's exact access pattern with no arithmetic to speak of:
;;   read θ, g, m, v and write θ, m, v (28 bytes per f32 parameter), 16-byte lanes, unrolled ×2.
;;   i32x4.add keeps it free of floating-point special cases.
;; copy(dst, src, bytes): memory.copy (V8 calls memmove).
;; All byte counts must be multiples of 32; arrays must not overlap.
(module
  (import "env" "memory" (memory 1 65536))
  (func (export "stream") (param $p i32) (param $g i32) (param $m i32) (param $v i32) (param $bytes i32)
    (local $i i32) (local $g0 v128) (local $g1 v128)
    (if (i32.eqz (local.get $bytes)) (then (return)))
    (loop $next
      (local.set $g0 (v128.load (i32.add (local.get $g) (local.get $i))))
      (local.set $g1 (v128.load offset=16 (i32.add (local.get $g) (local.get $i))))
      (v128.store (i32.add (local.get $p) (local.get $i))
        (i32x4.add (v128.load (i32.add (local.get $p) (local.get $i))) (local.get $g0)))
      (v128.store offset=16 (i32.add (local.get $p) (local.get $i))
        (i32x4.add (v128.load offset=16 (i32.add (local.get $p) (local.get $i))) (local.get $g1)))
      (v128.store (i32.add (local.get $m) (local.get $i))
        (i32x4.add (v128.load (i32.add (local.get $m) (local.get $i))) (local.get $g0)))
      (v128.store offset=16 (i32.add (local.get $m) (local.get $i))
        (i32x4.add (v128.load offset=16 (i32.add (local.get $m) (local.get $i))) (local.get $g1)))
      (v128.store (i32.add (local.get $v) (local.get $i))
        (i32x4.add (v128.load (i32.add (local.get $v) (local.get $i))) (local.get $g0)))
      (v128.store offset=16 (i32.add (local.get $v) (local.get $i))
        (i32x4.add (v128.load offset=16 (i32.add (local.get $v) (local.get $i))) (local.get $g1)))
      (local.set $i (i32.add (local.get $i) (i32.const 32)))
      (br_if $next (i32.lt_u (local.get $i) (local.get $bytes)))))
  (func (export "copy") (param $dst i32) (param $src i32) (param $bytes i32)
    (memory.copy (local.get $dst) (local.get $src) (local.get $bytes))))
