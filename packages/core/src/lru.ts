interface LruNode<V> {
  key: string;
  value: V;
  cost: number;
  newer: LruNode<V> | null;
  older: LruNode<V> | null;
}

/**
 * A least-recently-used map bounded by the total cost of its values. The recency
 * order is a linked list: a Map's own insertion order would have to be found by
 * iterating past deleted entries, which the profile showed costing seconds.
 */
export class Lru<V> {
  private readonly nodes = new Map<string, LruNode<V>>();
  private newest: LruNode<V> | null = null;
  private oldest: LruNode<V> | null = null;
  private total = 0;

  constructor(
    readonly maxCost: number,
    private readonly costOf: (value: V) => number,
    private readonly onEvict: (value: V, key: string) => void = () => {},
  ) {}

  get(key: string, load: () => V): V {
    const hit = this.nodes.get(key);
    if (hit) {
      this.unlink(hit);
      this.pushNewest(hit);
      return hit.value;
    }
    const value = load();
    const node: LruNode<V> = { key, value, cost: this.costOf(value), newer: null, older: null };
    this.nodes.set(key, node);
    this.pushNewest(node);
    this.total += node.cost;
    while (this.total > this.maxCost && this.oldest && this.oldest !== node) this.remove(this.oldest);
    return value;
  }

  /** The value under `key` if cached, without loading it or changing its recency. */
  peek(key: string): V | undefined {
    return this.nodes.get(key)?.value;
  }

  delete(key: string): void {
    const node = this.nodes.get(key);
    if (node) this.remove(node);
  }

  clear(): void {
    while (this.oldest) this.remove(this.oldest);
  }

  get size(): { entries: number; cost: number } {
    return { entries: this.nodes.size, cost: this.total };
  }

  private remove(node: LruNode<V>): void {
    this.unlink(node);
    this.nodes.delete(node.key);
    this.total -= node.cost;
    this.onEvict(node.value, node.key);
  }

  private unlink(node: LruNode<V>): void {
    if (node.newer) node.newer.older = node.older;
    else this.newest = node.older;
    if (node.older) node.older.newer = node.newer;
    else this.oldest = node.newer;
    node.newer = node.older = null;
  }

  private pushNewest(node: LruNode<V>): void {
    node.older = this.newest;
    if (this.newest) this.newest.newer = node;
    this.newest = node;
    if (!this.oldest) this.oldest = node;
  }
}
