import type {
  ContextConfigDefault,
  FastifySchema,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
  RouteGenericInterface,
  RouteShorthandOptionsWithHandler,
} from "fastify";
import type { RequestContractProvider, RouteApp } from "./route-types.js";

/** A route's options and handler, the handler's request typed by the options' schema. */
type Route<Schema extends FastifySchema> = RouteShorthandOptionsWithHandler<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  RouteGenericInterface,
  ContextConfigDefault,
  Schema,
  RequestContractProvider
>;

/** Vault takes a write as PUT or POST alike (its CLI sends PUT, most client libraries POST). */
export function vaultWrite<const Schema extends FastifySchema>(
  app: RouteApp,
  url: string,
  options: Omit<Route<Schema>, "handler">,
  handler: Route<Schema>["handler"],
): void {
  app.route<RouteGenericInterface, ContextConfigDefault, Schema>({
    ...options,
    method: ["PUT", "POST"],
    url,
    handler,
  });
}
