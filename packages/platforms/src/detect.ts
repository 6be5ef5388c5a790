import type { Delivery, Headers } from "./adapter.ts";

/** A platform's `detect`: its event name from one header, its delivery id from another. */
export function detectBy(eventHeader: string, deliveryHeader: string): (headers: Headers) => Delivery | undefined {
  const event = eventHeader.toLowerCase();
  const delivery = deliveryHeader.toLowerCase();
  return (headers) => {
    const eventName = headers[event];
    return eventName ? { eventName, deliveryId: headers[delivery] } : undefined;
  };
}
