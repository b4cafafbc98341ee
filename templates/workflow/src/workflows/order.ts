/**
 * Sample: an order. Reserve stock, charge the card, wait for a person to approve, ship. When
 * anything fails (a declined card, a rejection, no approval within the timeout), the undos of the
 * steps that completed run newest first: refund, then release the stock.
 *
 * The "services" are simulated so the sample runs anywhere; `simulate` makes them fail on purpose.
 */
import { z } from "zod";
import { defineWorkflow } from "../engine/define";
import { NonRetryableError } from "../engine/errors";

export const OrderParams = z.strictObject({
  orderId: z.string().min(1).max(64),
  amount: z.number().positive().max(1_000_000),
  /** Makes the payment service decline the card, to see the compensations run. */
  simulate: z.enum(["decline-card"]).optional(),
});
export type OrderParams = z.output<typeof OrderParams>;

/** The event an approver sends: `POST /api/instances/:id/events/approval {"payload":{"approved":true}}`. */
export interface Approval {
  approved: boolean;
  by?: string;
}

export const order = defineWorkflow(
  "order",
  async (params: OrderParams, step) => {
    const reservation = await step.do(
      "reserve stock",
      { compensate: async (reserved) => ({ released: reserved.reservationId }) },
      async () => ({ reservationId: `rsv-${params.orderId}` }),
    );

    const charge = await step.do(
      "charge card",
      {
        retries: { limit: 3, delay: "2 seconds", backoff: "exponential" },
        timeout: "30 seconds",
        compensate: async (charged) => ({ refunded: charged.chargeId, amount: params.amount }),
      },
      async () => {
        if (params.simulate === "decline-card") throw new NonRetryableError("card declined");
        return { chargeId: `ch-${params.orderId}`, amount: params.amount };
      },
    );

    const approval = await step.waitForEvent<Approval>("wait for approval", { type: "approval", timeout: "1 day" });
    if (!approval.payload.approved)
      throw new NonRetryableError(`order rejected by ${approval.payload.by ?? "approver"}`);

    const shipment = await step.do("ship", async () => ({ trackingNumber: `trk-${params.orderId}` }));
    return { reservation: reservation.reservationId, charge: charge.chargeId, tracking: shipment.trackingNumber };
  },
  { params: OrderParams },
);
