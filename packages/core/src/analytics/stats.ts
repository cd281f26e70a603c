/**
 * The robust statistics every check uses: medians and median absolute deviations of small
 * windows, and a log-binned histogram that learns a quantity's usual sizes in O(1) per sample.
 */

/** Scale of the MAD to a normal distribution's standard deviation. */
const MAD_TO_SD = 1.4826;

/** Median of `values` (sorted in place: pass a scratch copy). NaN when empty. */
export function medianInPlace(values: Float64Array | number[]): number {
  const n = values.length;
  if (n === 0) return NaN;
  if (values instanceof Float64Array) values.sort();
  else values.sort((a, b) => a - b);
  return n % 2 ? values[n >> 1]! : (values[(n >> 1) - 1]! + values[n >> 1]!) / 2;
}

/** Median and robust standard deviation (MAD x 1.4826) of `values`, which are overwritten. */
export function robustSpread(values: Float64Array | number[]): { median: number; sd: number } {
  const median = medianInPlace(values);
  for (let i = 0; i < values.length; i++) values[i] = Math.abs(values[i]! - median);
  return { median, sd: medianInPlace(values) * MAD_TO_SD };
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
    const known = this.memo.get(share);
    if (known && Math.abs(this.sum - known.at) <= Math.max(1, 0.002 * this.sum)) return known.value;
    const value = this.compute(share);
    this.memo.set(share, { at: this.sum, value });
    return value;
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
