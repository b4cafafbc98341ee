/**
 * partyserver's side of the broadcast benchmark: every WebSocket request joins the one room.
 */
import { getServerByName } from "partyserver";
import type { PartyRoom } from "./party-room";

export { PartyRoom } from "./party-room";

interface PartyEnv {
  PARTY_ROOM: DurableObjectNamespace<PartyRoom>;
}

export default {
  async fetch(request, env) {
    return (await getServerByName(env.PARTY_ROOM, "bench")).fetch(request);
  },
} satisfies ExportedHandler<PartyEnv>;
