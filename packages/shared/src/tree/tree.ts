/** A parsed configuration file: maps, lists and typed scalars. */
export type Tree = string | number | boolean | null | Tree[] | { [key: string]: Tree };
