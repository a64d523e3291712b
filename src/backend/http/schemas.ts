/**
 * JSON schemas that several route files share, and the building blocks of every route's schema:
 * every string has a maxLength, every array a maxItems, every number a range. They live with the
 * route tables in the protocol (a route's schema is part of its contract, read by the clients too);
 * the routes not yet described by a table import them from here.
 */
export {
  NO_NUL_PATTERN,
  lookupText,
  nameParams,
  pathText,
  projectQuery,
  text,
  trueFalse,
  type JsonSchema,
} from '../../protocol/routes/schema';
