/**
 * The counter app exactly as it ships (its Worker and its Counter class), plus one bench-only RPC
 * that reads the object's Sql meter, so the bench can count the rows each request costs.
 */
import { Counter as AppCounter } from "../../../apps/counter/src/counter-object";

export { default } from "../../../apps/counter/src/index";

export class Counter extends AppCounter {
  benchMeter() {
    return { ...this.sql.meter };
  }
}
