//! Sprig v3's `TxtFuncMap` for [`gotemplate`], with Go's exact output.

use gotemplate::FuncMap;

/// Every function of sprig's `TxtFuncMap`.
pub fn functions() -> FuncMap {
    FuncMap::new()
}
