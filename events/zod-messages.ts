import { en } from 'zod/locales';
import * as z from 'zod/mini';

// The contracts are zod/mini schemas: the same checks and inferred types
// as classic zod, without binding every method to every schema (classic's
// constructors were most of a function's cold start beyond its floor).
// zod/mini loads no error messages of its own; English ones make a
// dead-lettered event's reason readable ("expected string, received
// undefined"), and only English goes into a bundle.
z.config(en());
