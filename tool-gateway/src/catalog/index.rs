//! The catalog's full-text index (tantivy, BM25) behind `product_search`:
//! title, brand, category, description and specs, with price, rating, brand
//! and category filters.

use std::ops::Bound;
use std::path::Path;

use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, Value};
use tantivy::{Index, IndexReader, IndexWriter, TantivyDocument, Term};

use crate::catalog::Catalog;
use crate::catalog::category_filter::CategoryFilter;
use crate::error::Error;
use crate::full_text::{
    TermMatch, WRITER_MEMORY_BYTES, WRITER_THREADS, exact_key, filter, reader, register_tokenizer, text_options, text_query,
};

/// What `product_search` asks the index.
#[derive(Debug, Clone, Default)]
pub struct ProductQuery {
    pub text: String,
    pub limit: usize,
    pub min_price: Option<f64>,
    pub max_price: Option<f64>,
    /// Case-insensitive substring of the category path.
    pub category: Option<String>,
    /// Case-insensitive exact brand.
    pub brand: Option<String>,
    pub min_rating: Option<f64>,
}

/// Ranked product ids with their BM25 scores, and how many products matched.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProductHits {
    pub hits: Vec<(String, f32)>,
    pub total: usize,
}

#[derive(Debug, Clone, Copy)]
struct ProductFields {
    id: Field,
    title: Field,
    brand: Field,
    category: Field,
    description: Field,
    specs: Field,
    /// Lowercased, untokenized: brand and category filters match on these.
    brand_exact: Field,
    category_exact: Field,
    price: Field,
    rating: Field,
}

/// BM25 over the catalog's title, brand, category, description and specs, with
/// price, rating, brand and category filters.
pub struct ProductIndex {
    reader: IndexReader,
    fields: ProductFields,
    /// A category filter is a substring match over the distinct category
    /// paths, resolved to the documents of the paths it covers.
    categories: CategoryFilter,
    coverage: Coverage,
}

/// How many products have each filterable field: a filter on a field few or
/// no products have silently empties the results, so the tool says so.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Coverage {
    pub products: usize,
    pub price: usize,
    pub rating: usize,
    pub brand: usize,
    pub category: usize,
}

impl Coverage {
    fn of(catalog: &Catalog) -> Coverage {
        let count = |has: fn(&crate::catalog::Product) -> bool| catalog.products().iter().filter(|p| has(p)).count();
        Coverage {
            products: catalog.len(),
            price: count(|p| p.price.is_some()),
            rating: count(|p| p.rating.is_some()),
            brand: count(|p| p.brand.is_some()),
            category: count(|p| p.category.is_some()),
        }
    }
}

impl ProductIndex {
    /// The tantivy schema of a product index.
    fn schema() -> Schema {
        let mut schema = Schema::builder();
        schema.add_text_field("product_id", STRING | STORED);
        for name in ["title", "brand", "category", "description", "specs"] {
            schema.add_text_field(name, text_options());
        }
        schema.add_text_field("brand_exact", STRING);
        schema.add_text_field("category_exact", STRING);
        schema.add_f64_field("price", FAST | INDEXED);
        schema.add_f64_field("rating", FAST | INDEXED);
        schema.build()
    }

    fn fields(schema: &Schema) -> Result<ProductFields, Error> {
        let f = |name: &str| schema.get_field(name).map_err(Error::from);
        Ok(ProductFields {
            id: f("product_id")?,
            title: f("title")?,
            brand: f("brand")?,
            category: f("category")?,
            description: f("description")?,
            specs: f("specs")?,
            brand_exact: f("brand_exact")?,
            category_exact: f("category_exact")?,
            price: f("price")?,
            rating: f("rating")?,
        })
    }

    /// An index of `catalog` in RAM.
    pub fn build(catalog: &Catalog) -> Result<ProductIndex, Error> {
        Self::build_in(catalog, None)
    }

    /// An index of `catalog`, in RAM or written to `dir` (which must exist and
    /// be empty) so [`Self::open`] can serve it without re-indexing.
    pub fn build_in(catalog: &Catalog, dir: Option<&Path>) -> Result<ProductIndex, Error> {
        let index = match dir {
            None => Index::create_in_ram(Self::schema()),
            Some(dir) => Index::create_in_dir(dir, Self::schema())?,
        };
        register_tokenizer(&index);
        let fields = Self::fields(&index.schema())?;
        let mut writer: IndexWriter = index.writer_with_num_threads(WRITER_THREADS, WRITER_MEMORY_BYTES)?;
        for p in catalog.products() {
            let mut doc = TantivyDocument::default();
            doc.add_text(fields.id, &p.product_id);
            doc.add_text(fields.title, &p.title);
            if let Some(brand) = &p.brand {
                doc.add_text(fields.brand, brand);
                doc.add_text(fields.brand_exact, exact_key(brand));
            }
            if let Some(category) = &p.category {
                let exact = exact_key(category);
                doc.add_text(fields.category, category);
                doc.add_text(fields.category_exact, &exact);
            }
            if let Some(description) = &p.description {
                doc.add_text(fields.description, description);
            }
            // Feature bullets say what the seller wants found: searched as description.
            for feature in &p.features {
                doc.add_text(fields.description, feature);
            }
            if !p.specs.0.is_empty() {
                doc.add_text(fields.specs, p.specs.to_text());
            }
            if let Some(price) = p.price {
                doc.add_f64(fields.price, price);
            }
            if let Some(rating) = p.rating {
                doc.add_f64(fields.rating, rating);
            }
            writer.add_document(doc)?;
        }
        writer.commit()?;
        // Few segments keep every query to few posting lists.
        writer.wait_merging_threads()?;
        let reader = reader(&index)?;
        let categories = Self::categories(catalog, fields);
        Ok(ProductIndex { reader, fields, categories, coverage: Coverage::of(catalog) })
    }

    /// Opens an index [`Self::build_in`] wrote for `catalog`.
    pub fn open(dir: &Path, catalog: &Catalog) -> Result<ProductIndex, Error> {
        let index = Index::open_in_dir(dir)?;
        register_tokenizer(&index);
        let fields = Self::fields(&index.schema())?;
        let reader = reader(&index)?;
        let searcher = reader.searcher();
        if searcher.num_docs() as usize != catalog.len() {
            return Err(Error::Config(format!(
                "index {} holds {} products but its catalog {}; rebuild it with `productresearch catalog index`",
                dir.display(),
                searcher.num_docs(),
                catalog.len()
            )));
        }
        let categories = Self::categories(catalog, fields);
        Ok(ProductIndex { reader, fields, categories, coverage: Coverage::of(catalog) })
    }

    fn categories(catalog: &Catalog, fields: ProductFields) -> CategoryFilter {
        let mut seen = std::collections::HashSet::new();
        let paths = catalog
            .products()
            .iter()
            .filter_map(|p| p.category.as_ref())
            .map(|c| exact_key(c))
            .filter(|c| seen.insert(c.clone()))
            .collect();
        CategoryFilter::new(fields.category_exact, paths)
    }

    /// How many products have each filterable field.
    pub fn coverage(&self) -> Coverage {
        self.coverage
    }

    pub fn search(&self, q: &ProductQuery) -> Result<ProductHits, Error> {
        let f = self.fields;
        // The title says most about what a product is; brand and category next.
        let weighted = [(f.title, 3.0), (f.brand, 2.0), (f.category, 1.5), (f.description, 1.0), (f.specs, 1.0)];
        let searcher = self.reader.searcher();
        let Some(text) = text_query(&searcher, &weighted, &q.text, TermMatch::Any)? else {
            return Ok(ProductHits::default());
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, text)];
        if q.min_price.is_some() || q.max_price.is_some() {
            let bound = |v: Option<f64>| v.map_or(Bound::Unbounded, |v| Bound::Included(Term::from_field_f64(f.price, v)));
            clauses.push(filter(RangeQuery::new(bound(q.min_price), bound(q.max_price))));
        }
        if let Some(min_rating) = q.min_rating {
            let lower = Bound::Included(Term::from_field_f64(f.rating, min_rating));
            clauses.push(filter(RangeQuery::new(lower, Bound::Unbounded)));
        }
        if let Some(brand) = &q.brand {
            let term = Term::from_field_text(f.brand_exact, &exact_key(brand));
            clauses.push(filter(TermQuery::new(term, IndexRecordOption::Basic)));
        }
        if let Some(category) = &q.category {
            let Some(docs) = self.categories.docs(&searcher, category)? else {
                return Ok(ProductHits::default());
            };
            clauses.push((Occur::Must, Box::new(docs)));
        }
        let limit = TopDocs::with_limit(q.limit.max(1)).order_by_score();
        let (top, total) = if clauses.len() == 1 {
            // Without filters the text query runs alone, a pure union of term
            // queries, and is ranked apart from the count: tantivy's block-max
            // WAND then skips the blocks that cannot reach the top, and the
            // count needs no scores. Ranked and counted together, every match
            // is scored (the slowest unfiltered queries took twice as long).
            let text = clauses.pop().expect("the text clause").1;
            (searcher.search(&text, &limit)?, searcher.search(&text, &Count)?)
        } else {
            // With filters the intersection is scored once, ranked and counted.
            searcher.search(&BooleanQuery::new(clauses), &(limit, Count))?
        };
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            if let Some(id) = doc.get_first(f.id).and_then(|v| v.as_str()) {
                hits.push((id.to_string(), score));
            }
        }
        Ok(ProductHits { hits, total })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn catalog() -> Catalog {
        let lines = [
            r#"{"product_id":"h1","title":"Aurion Quiet 700 Wireless Noise Cancelling Headphones","brand":"Aurion","category":"Electronics > Audio > Headphones","price":249.0,"rating":4.6,"description":"Over-ear headphones with adaptive noise cancelling."}"#,
            r#"{"product_id":"h2","title":"Budget Wired Headphones","brand":"Nordtone","category":"Electronics > Audio > Headphones","price":29.0,"rating":3.9}"#,
            r#"{"product_id":"h3","title":"Aurion Buds Pro","brand":"Aurion","category":"Electronics > Audio > Earbuds","price":179.0,"rating":4.2,"specs":{"Noise cancelling":"yes"}}"#,
            r#"{"product_id":"s1","title":"Stride Runner 3 Running Shoes","brand":"Stride","category":"Sports > Running > Shoes","price":120.0}"#,
        ];
        let mut catalog = Catalog::default();
        catalog.add_jsonl(Path::new("t"), lines.join("\n").as_bytes()).unwrap();
        catalog
    }

    fn ids(hits: &ProductHits) -> Vec<&str> {
        hits.hits.iter().map(|(id, _)| id.as_str()).collect()
    }

    fn query(text: &str) -> ProductQuery {
        ProductQuery { text: text.into(), limit: 10, ..Default::default() }
    }

    #[test]
    fn ranks_by_bm25_with_stemming() {
        let index = ProductIndex::build(&catalog()).unwrap();
        let hits = index.search(&query("noise cancelling headphone")).unwrap();
        assert_eq!(hits.total, 3);
        assert_eq!(ids(&hits)[0], "h1");
        assert!(!ids(&hits).contains(&"s1"));
        assert!(hits.hits.windows(2).all(|w| w[0].1 >= w[1].1));
    }

    #[test]
    fn filters_narrow_the_hits() {
        let index = ProductIndex::build(&catalog()).unwrap();
        let price = index.search(&ProductQuery { max_price: Some(200.0), ..query("headphones noise") }).unwrap();
        let mut under_200 = ids(&price);
        under_200.sort();
        assert_eq!(under_200, vec!["h2", "h3"]);
        let range = index.search(&ProductQuery { min_price: Some(100.0), max_price: Some(200.0), ..query("aurion") }).unwrap();
        assert_eq!(ids(&range), vec!["h3"]);
        let brand = index.search(&ProductQuery { brand: Some(" aurion ".into()), ..query("headphones buds") }).unwrap();
        assert_eq!(brand.total, 2);
        assert!(ids(&brand).iter().all(|id| id.starts_with('h') && *id != "h2"));
        let category = index.search(&ProductQuery { category: Some("AUDIO > earbuds".into()), ..query("aurion") }).unwrap();
        assert_eq!(ids(&category), vec!["h3"]);
        let no_category = index.search(&ProductQuery { category: Some("garden".into()), ..query("aurion") }).unwrap();
        assert_eq!(no_category, ProductHits::default());
        let rating = index.search(&ProductQuery { min_rating: Some(4.0), ..query("headphones") }).unwrap();
        assert_eq!(ids(&rating), vec!["h1"]);
        // A product without a rating cannot satisfy a rating filter.
        let unrated = index.search(&ProductQuery { min_rating: Some(0.0), ..query("running") }).unwrap();
        assert_eq!(unrated.total, 0);
    }

    #[test]
    fn a_category_filter_covers_every_path_it_is_part_of_and_is_kept() {
        let index = ProductIndex::build(&catalog()).unwrap();
        let audio = || index.search(&ProductQuery { category: Some("Audio".into()), ..query("aurion headphones shoes") }).unwrap();
        let first = audio();
        let mut covered = ids(&first);
        covered.sort();
        // "audio" is part of both the headphones and the earbuds paths, never the shoes'.
        assert_eq!(covered, vec!["h1", "h2", "h3"]);
        // Asked again, the kept documents give the same answer, ranked alike.
        assert_eq!(audio(), first);
        let shoes = index.search(&ProductQuery { category: Some("running".into()), ..query("aurion headphones shoes") }).unwrap();
        assert_eq!(ids(&shoes), vec!["s1"]);
        let none = index.search(&ProductQuery { category: Some("garden".into()), ..query("shoes") }).unwrap();
        assert_eq!(none, ProductHits::default());
        assert_eq!(index.search(&ProductQuery { category: Some("garden".into()), ..query("shoes") }).unwrap(), none);
    }

    #[test]
    fn accents_and_case_fold() {
        let lines = [
            r#"{"product_id":"c1","title":"Café Crème Espresso Beans","brand":"Nestlé","category":"Épicerie > Café"}"#,
            r#"{"product_id":"c2","title":"Green Tea","brand":"Ito"}"#,
        ];
        let mut catalog = Catalog::default();
        catalog.add_jsonl(Path::new("t"), lines.join("\n").as_bytes()).unwrap();
        let index = ProductIndex::build(&catalog).unwrap();
        for text in ["cafe", "CAFÉ", "creme espresso", "nestle"] {
            assert_eq!(ids(&index.search(&query(text)).unwrap()), vec!["c1"], "{text}");
        }
        let brand = index.search(&ProductQuery { brand: Some("NESTLE".into()), ..query("beans") }).unwrap();
        assert_eq!(ids(&brand), vec!["c1"]);
        let category = index.search(&ProductQuery { category: Some("epicerie".into()), ..query("beans") }).unwrap();
        assert_eq!(ids(&category), vec!["c1"]);
        assert_eq!(index.coverage(), Coverage { products: 2, price: 0, rating: 0, brand: 2, category: 1 });
    }

    #[test]
    fn query_syntax_is_plain_text() {
        let index = ProductIndex::build(&catalog()).unwrap();
        let hits = index.search(&query("title:stride -runner \"shoes")).unwrap();
        assert_eq!(ids(&hits), vec!["s1"]);
        assert_eq!(index.search(&query("?!")).unwrap(), ProductHits::default());
        // Stop words neither match nor count.
        assert_eq!(index.search(&query("the for with")).unwrap(), ProductHits::default());
    }
}
