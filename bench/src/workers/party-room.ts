import { Server, type Connection } from "partyserver";

/**
 * The smallest partyserver room that broadcasts: every message goes to every connection as it
 * came. Hibernation is on, as in the chat room, so idle sockets cost the object nothing. No
 * validation, no storage, no rate limit: a floor for what a broadcast costs on partyserver.
 */
export class PartyRoom extends Server {
  static override options = { hibernate: true };

  override onMessage(_connection: Connection, message: string | ArrayBuffer): void {
    this.broadcast(message);
  }
}
