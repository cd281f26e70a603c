/**
 * The robust statistics every check uses: medians and median absolute deviations of small
 * windows, and a log-binned histogram that learns a quantity's usual sizes in O(1) per sample.
 */

/** Scale of the MAD to a normal distribution's standard deviation. */
const MAD_TO_SD = 1.4826;

/**
 * Median of the first `n` of `values` (no NaN among them), which are reordered (pass a scratch
 * copy). NaN when empty. Insertion sort for the small windows the checks use, selection beyond: no
 * allocation and no call into the engine's sort, since this runs on most cell readings.
 */
export function medianInPlace(values: Float64Array | number[], n = values.length): number {
  if (n === 0) return NaN;
  const k = n >> 1;
  if (n <= SMALL) insertionSort(values, n);
  else selectNth(values, n, k);
  if (n % 2) return values[k]!;
  if (n <= SMALL) return (values[k - 1]! + values[k]!) / 2;
  // After selection everything before k is at most values[k]: the lower middle is the largest of them.
  let lower = values[0]!;
  for (let i = 1; i < k; i++) if (values[i]! > lower) lower = values[i]!;
  return (lower + values[k]!) / 2;
}

const SMALL = 24;

function insertionSort(a: Float64Array | number[], n: number): void {
  for (let i = 1; i < n; i++) {
    const x = a[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > x) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = x;
  }
}

/** Reorders the first n so that a[k] is the k-th smallest, with nothing larger before it nor smaller after (Hoare's selection). */
function selectNth(a: Float64Array | number[], n: number, k: number): void {
  let lo = 0;
  let hi = n - 1;
  while (hi > lo) {
    const pivot = median3(a[lo]!, a[(lo + hi) >> 1]!, a[hi]!);
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const x = a[i]!;
        a[i] = a[j]!;
        a[j] = x;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

/** Median of three numbers. */
export function median3(a: number, b: number, c: number): number {
  return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
}

/** Median and robust standard deviation (MAD x 1.4826) of the first `n` of `values`, which are overwritten. */
export function robustSpread(values: Float64Array | number[], n = values.length): { median: number; sd: number } {
  const median = medianInPlace(values, n);
  for (let i = 0; i < n; i++) values[i] = Math.abs(values[i]! - median);
  return { median, sd: medianInPlace(values, n) * MAD_TO_SD };
}

/**
 * Weights of a positive quantity in bins a quarter of an octave wide, from `smallest` up:
 * quantiles to within 19 % of their value, whatever the quantity's scale.
 */
export class LogHistogram {
  private readonly weight: Float64Array;
  private sum = 0;
  /** Quantiles asked for, each with the total it was computed at: recomputed once the total has moved 0.2 %. */
  private readonly memo = new Map<number, { at: number; value: number }>();
  /** The last quantile asked for, kept apart from the memo: most callers ask for one share only. */
  private lastShare = NaN;
  private lastAt = 0;
  private lastValue = 0;

  constructor(
    private readonly smallest: number,
    bins = 96,
  ) {
    this.weight = new Float64Array(bins);
  }

  add(value: number, weight = 1): void {
    if (!(weight > 0) || Number.isNaN(value)) return;
    this.weight[this.bin(value)]! += weight;
    this.sum += weight;
  }

  remove(value: number, weight = 1): void {
    if (!(weight > 0) || Number.isNaN(value)) return;
    const b = this.bin(value);
    const w = Math.min(weight, this.weight[b]!);
    this.weight[b]! -= w;
    this.sum -= w;
  }

  get total(): number {
    return this.sum;
  }

  /** The value below which `share` of the weight lies (its bin's upper edge); 0 when empty. */
  quantile(share: number): number {
    const tolerance = Math.max(1, 0.002 * this.sum);
    if (share === this.lastShare && Math.abs(this.sum - this.lastAt) <= tolerance) return this.lastValue;
    let known = this.memo.get(share);
    if (!known || Math.abs(this.sum - known.at) > tolerance) {
      known = { at: this.sum, value: this.compute(share) };
      this.memo.set(share, known);
    }
    this.lastShare = share;
    this.lastAt = known.at;
    this.lastValue = known.value;
    return known.value;
  }

  private compute(share: number): number {
    if (this.sum <= 0) return 0;
    let acc = 0;
    for (let b = 0; b < this.weight.length; b++) {
      acc += this.weight[b]!;
      if (acc >= share * this.sum) return this.upperEdge(b);
    }
    return this.upperEdge(this.weight.length - 1);
  }

  private bin(value: number): number {
    if (!(value > this.smallest)) return 0;
    return Math.min(this.weight.length - 1, Math.floor(4 * Math.log2(value / this.smallest)) + 1);
  }

  private upperEdge(b: number): number {
    return this.smallest * 2 ** (b / 4);
  }
}

/**
 * The median of the last `size` values pushed, kept sorted as they come and go: O(size) a push
 * and O(1) a median, where copying and sorting the window each time costs several times that.
 */
export class SlidingMedian {
  private readonly ring: Float64Array;
  private readonly sorted: Float64Array;
  private pushed = 0;

  constructor(readonly size: number) {
    this.ring = new Float64Array(size);
    this.sorted = new Float64Array(size);
  }

  /** How many values the window holds (at most `size`). */
  get count(): number {
    return Math.min(this.pushed, this.size);
  }

  /** Median of the window; NaN when empty. */
  median(): number {
    const n = this.count;
    if (n === 0) return NaN;
    const k = n >> 1;
    return n % 2 ? this.sorted[k]! : (this.sorted[k - 1]! + this.sorted[k]!) / 2;
  }

  /** Adds a value (not NaN), dropping the oldest once the window is full. */
  push(x: number): void {
    const s = this.sorted;
    let n = this.count;
    const slot = this.pushed++ % this.size;
    if (n === this.size) {
      // Take the oldest value out of the sorted copy.
      const old = this.ring[slot]!;
      let at = 0;
      while (s[at] !== old) at++;
      for (; at < n - 1; at++) s[at] = s[at + 1]!;
      n--;
    }
    this.ring[slot] = x;
    let j = n - 1;
    while (j >= 0 && s[j]! > x) {
      s[j + 1] = s[j]!;
      j--;
    }
    s[j + 1] = x;
  }

  clear(): void {
    this.pushed = 0;
  }
}
