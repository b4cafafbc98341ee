/**
 * The part of `node:async_hooks` workerd provides with the `nodejs_als` compatibility flag (see
 * wrangler.jsonc). Declared here because the app does not depend on @types/node.
 */
declare module "node:async_hooks" {
  export class AsyncLocalStorage<T> {
    run<R>(store: T, fn: () => R): R;
    getStore(): T | undefined;
  }
}
