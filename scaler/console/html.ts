/**
 * HTML from templates in which every interpolated value is escaped unless it is HTML this module made:
 * a group name, a reason or a commit subject can hold markup, and the console shows it as text.
 */
import escapeHtml from "escape-html";

const SAFE = Symbol("html");

export interface Html {
  readonly [SAFE]: string;
}

type Value = string | number | boolean | undefined | null | Html | Value[];

function render(value: Value): string {
  if (value === undefined || value === null || value === false) return "";
  if (Array.isArray(value)) return value.map(render).join("");
  if (typeof value === "object") return value[SAFE];
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  return {
    [SAFE]: strings.reduce((out, s, i) => out + s + (i < values.length ? render(values[i]) : ""), ""),
  };
}

/** A constant of the console's own (its style sheet), never data. */
export function trusted(constant: string): Html {
  return { [SAFE]: constant };
}

export function toText(page: Html): string {
  return page[SAFE];
}
