import type {
  ContextConfigDefault,
  FastifySchema,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
  RouteGenericInterface,
  RouteHandlerMethod,
  RouteShorthandOptions,
} from "fastify";
import type { RequestContractProvider, RouteApp } from "./route-types.js";

type Options<Schema extends FastifySchema> = RouteShorthandOptions<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  RouteGenericInterface,
  ContextConfigDefault,
  Schema,
  RequestContractProvider
>;

type Handler<Schema extends FastifySchema> = RouteHandlerMethod<
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
  options: Options<Schema>,
  handler: Handler<NoInfer<Schema>>,
): void {
  app.route<RouteGenericInterface, ContextConfigDefault, Schema>({
    ...options,
    method: ["PUT", "POST"],
    url,
    handler,
  });
}
