//! How the executor holds values: shared and addressed by path, so field
//! access, `range` and variables never copy secret data; and tagged with
//! what Go's reflection would know about them (no value at all, a value in
//! an `interface{}`, or a value of a concrete type), which decides several
//! of Go's error messages.

use std::rc::Rc;

use super::value::Value;

static NIL: Value = Value::Nil;

/// One step from a value to a part of it.
#[derive(Debug, Clone)]
enum Seg {
    Key(Rc<str>),
    Entry(usize),
    Index(usize),
    Field(usize),
}

/// A value, or a part of a shared value reached by a path.
#[derive(Debug, Clone)]
pub(crate) struct Ptr {
    root: Rc<Value>,
    path: Rc<[Seg]>,
}

impl Ptr {
    /// A new shared value.
    pub(crate) fn new(value: Value) -> Ptr {
        Ptr {
            root: Rc::new(value),
            path: Rc::from(Vec::new()),
        }
    }

    /// The value this points at (nil if the path no longer resolves, which
    /// cannot happen as values are immutable).
    pub(crate) fn get(&self) -> &Value {
        let mut v: &Value = &self.root;
        for seg in self.path.iter() {
            let next = match (seg, v) {
                (Seg::Key(k), Value::Map(m)) => m.get(&**k),
                (Seg::Entry(i), Value::AnyMap(entries)) => entries.get(*i).map(|(_, v)| v),
                (Seg::Index(i), Value::List(items)) => items.get(*i),
                (Seg::Field(i), Value::Struct(s)) => {
                    s.fields.as_ref().and_then(|f| f.get(*i)).map(|(_, v)| v)
                }
                _ => None,
            };
            match next {
                Some(n) => v = n,
                None => return &NIL,
            }
        }
        v
    }

    fn child(&self, seg: Seg) -> Ptr {
        let mut path: Vec<Seg> = self.path.to_vec();
        path.push(seg);
        Ptr {
            root: Rc::clone(&self.root),
            path: Rc::from(path),
        }
    }

    /// The member `key` of the map this points at.
    pub(crate) fn key(&self, key: &str) -> Ptr {
        self.child(Seg::Key(Rc::from(key)))
    }

    /// The value of entry `i` of the `map[interface{}]interface{}` this
    /// points at.
    pub(crate) fn entry(&self, i: usize) -> Ptr {
        self.child(Seg::Entry(i))
    }

    /// Element `i` of the list this points at.
    pub(crate) fn index(&self, i: usize) -> Ptr {
        self.child(Seg::Index(i))
    }

    /// Field number `i` of the struct this points at.
    pub(crate) fn field(&self, i: usize) -> Ptr {
        self.child(Seg::Field(i))
    }
}

/// A value as Go's reflection holds it during execution.
#[derive(Debug, Clone)]
pub(crate) enum Slot {
    /// No value (Go's invalid `reflect.Value`): a nil result, `$` at top.
    Invalid,
    /// A value whose static type is `interface{}`: a map member or list
    /// element (possibly a nil interface).
    Iface(Ptr),
    /// A value of a concrete type.
    Val(Ptr),
}

impl Slot {
    /// A concrete value; nil becomes [`Slot::Invalid`].
    pub(crate) fn val(value: Value) -> Slot {
        if value.is_nil() {
            Slot::Invalid
        } else {
            Slot::Val(Ptr::new(value))
        }
    }

    /// Go's unwrapping of `interface{}` after each command of a pipeline:
    /// a nil interface becomes no value, anything else its concrete value.
    pub(crate) fn unwrap_iface(self) -> Slot {
        match self {
            Slot::Iface(p) if p.get().is_nil() => Slot::Invalid,
            Slot::Iface(p) => Slot::Val(p),
            other => other,
        }
    }

    /// The value (nil for no value or a nil interface).
    pub(crate) fn value(&self) -> &Value {
        match self {
            Slot::Invalid => &NIL,
            Slot::Iface(p) | Slot::Val(p) => p.get(),
        }
    }

    /// The pointer, unless there is no value.
    pub(crate) fn ptr(&self) -> Option<&Ptr> {
        match self {
            Slot::Invalid => None,
            Slot::Iface(p) | Slot::Val(p) => Some(p),
        }
    }

    /// The static type Go would name: `interface {}` for interface slots.
    pub(crate) fn type_name(&self) -> String {
        match self {
            Slot::Invalid => "<nil>".into(),
            Slot::Iface(_) => "interface {}".into(),
            Slot::Val(p) => p.get().go_type(),
        }
    }

    /// An owned copy of the value.
    pub(crate) fn to_value(&self) -> Value {
        self.value().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::decode_json;

    #[test]
    fn paths_reach_nested_members() {
        let p = Ptr::new(decode_json(r#"{"a":{"b":[1,{"c":"x"}]}}"#).unwrap());
        let c = p.key("a").key("b").index(1).key("c");
        assert_eq!(c.get(), &Value::String("x".into()));
    }

    #[test]
    fn unresolvable_paths_are_nil() {
        let p = Ptr::new(Value::Int(1));
        assert!(p.key("x").get().is_nil());
    }

    #[test]
    fn nil_interface_unwraps_to_no_value() {
        let slot = Slot::Iface(Ptr::new(Value::Nil)).unwrap_iface();
        assert!(matches!(slot, Slot::Invalid));
    }

    #[test]
    fn interface_slots_name_the_interface_type() {
        assert_eq!(
            Slot::Iface(Ptr::new(Value::Int(1))).type_name(),
            "interface {}"
        );
        assert_eq!(Slot::val(Value::Int(1)).type_name(), "int");
    }
}
