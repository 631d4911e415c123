// The memory-bandwidth floor: one pass of a dot-product kernel over the whole
// vector set. Built by the benchmark with the machine's compiler at
// -O3 -march=native, so the loop is vectorized (SIMD).
//   kernel <vectors.f32> <n> <dims> <repeats>  ->  prints "best_ms"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc < 5) return 2;
  long n = atol(argv[2]), d = atol(argv[3]), reps = atol(argv[4]);
  float *v = aligned_alloc(64, ((n * d * sizeof(float)) + 63) / 64 * 64);
  FILE *f = fopen(argv[1], "rb");
  if (!f || fread(v, sizeof(float), n * d, f) != (size_t)(n * d)) return 3;
  fclose(f);
  float *q = v; /* the first vector as the query */
  float *scores = malloc(n * sizeof(float));
  double best = 1e30;
  volatile float sink = 0;
  for (long r = 0; r < reps; r++) {
    double t0 = now_ms();
    for (long i = 0; i < n; i++) {
      const float *x = v + i * d;
      float s = 0;
      for (long j = 0; j < d; j++) s += x[j] * q[j];
      scores[i] = s;
    }
    double t = now_ms() - t0;
    sink += scores[n / 2];
    if (t < best) best = t;
  }
  printf("%.3f\n", best);
  return sink == 12345.0f;
}
