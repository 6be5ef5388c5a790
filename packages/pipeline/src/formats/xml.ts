import type { Tree } from "@varstream/shared";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { ParseError } from "./errors.ts";

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

/**
 * XML: attributes → `@name`, repeated elements → arrays, text values as strings (XML has no types).
 * The document element is the root of the tree.
 */
export function parseXml(text: string): Tree {
  const valid = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (valid !== true) throw new ParseError("xml", valid.err.msg, valid.err.line, valid.err.col);
  if (/<!ENTITY/i.test(text)) throw new ParseError("xml", "entity declarations are not allowed");
  return parser.parse(text) as Tree;
}
