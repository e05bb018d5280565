import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyRequest,
  FastifySchema,
  FastifyTypeProvider,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
  RouteGenericInterface,
} from "fastify";
import type { Static, TSchema } from "typebox";

/**
 * TypeBox's type provider for what a request carries (params, querystring, body, headers). Answers
 * stay untyped, as before: @fastify/type-provider-typebox would also infer them from the answer
 * schemas, which describe rather than bind (no `required`, nullable fields not all marked).
 */
export interface RequestContractProvider extends FastifyTypeProvider {
  validator: this["schema"] extends TSchema ? Static<this["schema"]> : unknown;
  serializer: unknown;
}

/**
 * The app as the routes see it: through TypeBox's type provider a route's request schemas
 * (src/api) are the types its handler reads, so no handler casts its body, query or params, and
 * a field it reads is a field the OpenAPI document lists.
 */
export type RouteApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  RequestContractProvider
>;

/** The request of a handler written apart from its route, typed by that route's schema. */
export type RequestOf<Schema extends FastifySchema> = FastifyRequest<
  RouteGenericInterface,
  RawServerDefault,
  RawRequestDefaultExpression,
  Schema,
  RequestContractProvider
>;
