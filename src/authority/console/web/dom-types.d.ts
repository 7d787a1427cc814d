// What `h()` takes as children: text, numbers, nodes, nothing, or lists of those (nested).
export type Child = string | number | Node | null | undefined | false;
export type Children = Child | readonly Children[];
