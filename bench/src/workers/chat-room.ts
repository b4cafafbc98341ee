/**
 * The chat room as it ships (its Worker and its ChatRoom class), plus one bench-only RPC that
 * reads the object's Sql meter. The bench raises the room's connection cap while bundling
 * (see src/config.mjs); nothing else differs.
 */
import { ChatRoom as AppChatRoom } from "../../../apps/chat-room/src/chat-room-object";

export { default } from "../../../apps/chat-room/src/index";

export class ChatRoom extends AppChatRoom {
  benchMeter() {
    return { ...this.sql.meter };
  }
}
